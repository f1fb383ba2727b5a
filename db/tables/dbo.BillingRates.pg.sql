-- kind: table
-- requires: dbo.BillingRatePlans
-- What a rate plan charges per unit of each metered operation, and how many units a tenant on it
-- may use per calendar month (UTC); NULL: no quota. The operations and their units:
--   embedding        one embedding computed (sp_GenerateEmbedding, a query_text search, ingestion)
--   search           one sp_SemanticSearch call
--   generated_token  one token sp_GenerateText generated
--   ingested_byte    one byte of new content stored by sp_IngestAtom / sp_IngestAtoms
-- An operation a plan has no row for is metered at no charge and without a quota.
CREATE TABLE IF NOT EXISTS dbo.BillingRates (
    RatePlanId        integer        NOT NULL,
    Operation         text           NOT NULL,
    UnitRate          numeric(19, 9) NOT NULL DEFAULT 0,
    MonthlyQuotaUnits bigint         NULL,
    CONSTRAINT PK_BillingRates PRIMARY KEY (RatePlanId, Operation),
    CONSTRAINT FK_BillingRates_BillingRatePlans FOREIGN KEY (RatePlanId) REFERENCES dbo.BillingRatePlans (RatePlanId),
    CONSTRAINT CK_BillingRates_Operation CHECK (Operation IN ('embedding', 'search', 'generated_token', 'ingested_byte')),
    CONSTRAINT CK_BillingRates_Amounts CHECK (UnitRate >= 0 AND (MonthlyQuotaUnits IS NULL OR MonthlyQuotaUnits >= 0))
);
