IDistributedApplicationBuilder builder = DistributedApplication.CreateBuilder(args);

// The name both services read their connection string by (ConnectionStrings:appdb), whatever the server's resource is called.
const string DatabaseName = "appdb";
IResourceBuilder<IResourceWithConnectionString> database = builder.AddAppDatabase(DatabaseName);

IResourceBuilder<ProjectResource> worker = builder.AddProject<Projects.Saas_Worker>("worker")
    .WithReference(database, DatabaseName)
    .WaitFor(database)
    .WithHttpHealthCheck("/health"); // healthy once its first migration pass is done

builder.AddProject<Projects.Saas_Api>("api")
    .WithReference(database, DatabaseName)
    .WaitFor(database)
    .WaitFor(worker);

builder.Build().Run();
