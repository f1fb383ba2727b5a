-- kind: table
-- requires: dbo
-- Which database principals (users of logins) act for which tenants. A principal mapped to one
-- tenant works in it from its first statement; one mapped to several (an application login serving
-- many customers) chooses one per session with dbo.sp_SetSessionTenant. Written by
-- `python -m deployer grant`; no tenant role can read or write it.
IF OBJECT_ID(N'dbo.TenantPrincipals', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.TenantPrincipals (
        PrincipalName SYSNAME      NOT NULL,
        TenantId      INT          NOT NULL,
        GrantedAt     DATETIME2(3) NOT NULL CONSTRAINT DF_TenantPrincipals_GrantedAt DEFAULT (SYSUTCDATETIME()),
        CONSTRAINT PK_TenantPrincipals PRIMARY KEY CLUSTERED (PrincipalName, TenantId),
        CONSTRAINT CK_TenantPrincipals_TenantId CHECK (TenantId >= 0)
    );
END;
