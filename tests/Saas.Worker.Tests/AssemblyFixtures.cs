[assembly: AssemblyFixture(typeof(Postgres.Testing.PostgresFixture))]
