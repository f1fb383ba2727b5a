-- kind: table
-- requires: dbo
-- engine-specific: SQL Server keeps a session's chosen tenant in SESSION_CONTEXT, set read-only; PostgreSQL has no read-only session variable (a plain SET overrides any GUC), so the choice is a row only dbo.sp_SetSessionTenant writes
-- The tenant a session chose with dbo.sp_SetSessionTenant. A row belongs to one backend: its
-- process id and start time, so a later backend that reuses the pid does not inherit it. Rows of
-- ended backends are removed by the next sp_SetSessionTenant.
CREATE TABLE IF NOT EXISTS dbo.SessionTenants (
    BackendPid    integer     NOT NULL,
    BackendStart  timestamptz NOT NULL,
    PrincipalName text        NOT NULL,
    TenantId      integer     NOT NULL,
    SetAt         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT PK_SessionTenants PRIMARY KEY (BackendPid)
);
