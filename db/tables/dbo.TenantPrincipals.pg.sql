-- kind: table
-- requires: dbo
-- Which database principals (login roles) act for which tenants. A principal mapped to one tenant
-- works in it from its first statement; one mapped to several (an application login serving many
-- customers) chooses one per session with dbo.sp_SetSessionTenant. Written by
-- `python -m deployer grant`; no tenant role can read or write it.
CREATE TABLE IF NOT EXISTS dbo.TenantPrincipals (
    PrincipalName text        NOT NULL,
    TenantId      integer     NOT NULL,
    GrantedAt     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT PK_TenantPrincipals PRIMARY KEY (PrincipalName, TenantId),
    CONSTRAINT CK_TenantPrincipals_TenantId CHECK (TenantId >= 0),
    CONSTRAINT CK_TenantPrincipals_PrincipalName CHECK (length(PrincipalName) BETWEEN 1 AND 63)
);
