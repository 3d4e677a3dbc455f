using Saas.Worker.Commands;
using Saas.Worker.Extensions;

if (args is ["tenants", ..])
{
    return await TenantCommandLine.RunAsync(args);
}

WebApplicationBuilder builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddTenantData();
builder.AddBackgroundWork();

WebApplication app = builder.Build();
app.MapDefaultEndpoints();
await app.RunAsync();
return 0;

/// <summary>The entry point, visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
