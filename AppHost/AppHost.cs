IDistributedApplicationBuilder builder = DistributedApplication.CreateBuilder(args);

// The names both services read their connection strings by (ConnectionStrings:appdb, ConnectionStrings:appdb-owner),
// whatever the server's resource is called.
const string DatabaseName = "appdb";
const string OwnerName = $"{DatabaseName}-owner";
AppDatabase database = builder.AddAppDatabase(DatabaseName);

// The Worker provisions, migrates and offboards (the owner connection); tenant data goes through the app's role.
IResourceBuilder<ProjectResource> worker = builder.AddProject<Projects.Saas_Worker>("worker")
    .WithReference(database.App, DatabaseName)
    .WithReference(database.Owner, OwnerName)
    .WaitFor(database.Server)
    .WithHttpHealthCheck("/health") // healthy once its first migration pass is done
    .WithTenantCommands(); // the dashboard's Add tenant, Migrate all tenants now, Tenant status, Deactivate, Reactivate

// The internet-facing Api gets the app's role only: it asks the Worker for anything that needs the owner.
builder.AddProject<Projects.Saas_Api>("api")
    .WithReference(database.App, DatabaseName)
    .WaitFor(database.Server)
    .WaitFor(worker)
    .WithHttpHealthCheck("/health"); // healthy once it serves requests, not merely once its process has started

builder.Build().Run();
