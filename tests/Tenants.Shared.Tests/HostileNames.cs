namespace Tenants.Shared.Tests;

/// <summary>Names an attacker or a careless caller might send. Every one must be refused by the validator.</summary>
public static class HostileNames
{
    public static TheoryData<string> All { get; } = new(
        // SQL injection attempts and quoting tricks
        "acme; DROP SCHEMA shared CASCADE",
        "acme\"; DROP TABLE x; --",
        "a\"b",
        "a'b",
        "acme--",
        "acme/*x*/",
        "x); CREATE SCHEMA evil; --",
        "$1",
        // case, spaces, punctuation, leading digits and underscores
        "Acme",
        "ACME",
        "acme corp",
        " acme",
        "acme ",
        "acme-corp",
        "acme.corp",
        "1acme",
        "_acme",
        "",
        // unicode look-alikes and invisible characters
        "аcme", // Cyrillic а
        "acmе", // Cyrillic е
        "ａcme", // full-width a
        "acme\u200b", // zero-width space
        "acme\u00a0",
        "ac\u0301me",
        "acme\u0000",
        "acme\n",
        "acme\t",
        "é",
        // length: 64 bytes of ASCII, and 63 chars that are more than 63 bytes
        "a" + new string('b', 63),
        "a" + new string('b', 200),
        "a" + new string('é', 31),
        // reserved and existing schema names
        "public",
        "information_schema",
        "pg_catalog",
        "pg_toast",
        "pg_temp",
        "pg_temp_1",
        "pg_toast_temp_1",
        "pg_anything",
        "shared");
}
