namespace Aspire.Hosting.ApplicationModel;

/// <summary>
/// The app's database as its services see it: <see cref="App"/> for the app's least-privileged role, <see cref="Owner"/>
/// for provisioning and migrations, and <see cref="Server"/> to wait for.
/// </summary>
public sealed record AppDatabase(
    IResourceBuilder<IResourceWithConnectionString> App,
    IResourceBuilder<IResourceWithConnectionString> Owner,
    IResourceBuilder<IResource> Server);
