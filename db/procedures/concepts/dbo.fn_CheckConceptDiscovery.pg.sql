-- kind: function
-- requires: dbo
-- engine-specific: PostgreSQL's two forms of a discovery run (dbo.fn_DiscoverConcepts in the caller's transaction, dbo.sp_DiscoverConcepts committing as it goes) check their arguments here; SQL Server's one procedure checks its own (errors 50620-50623, the same messages)
-- Refuse bad arguments of a concept discovery run before anything is read or written (22023, the
-- message naming Caller): MinClusterSize at least 2 (NULL: the default), CoherenceThreshold a mean
-- cosine between 0 and 1, MaxConcepts at least 1, EmbeddingType 1 to 64 characters.
CREATE OR REPLACE FUNCTION dbo.fn_CheckConceptDiscovery(Caller text, MinClusterSize integer,
                                                       CoherenceThreshold double precision, MaxConcepts integer,
                                                       EmbeddingType text)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    IF MinClusterSize < 2 THEN
        RAISE EXCEPTION '%: MinClusterSize must be at least 2 (NULL: the default), not %', Caller, MinClusterSize
            USING ERRCODE = '22023';
    END IF;
    IF CoherenceThreshold IS NULL OR NOT (CoherenceThreshold BETWEEN 0 AND 1) THEN
        RAISE EXCEPTION '%: CoherenceThreshold is a mean cosine between 0 and 1, not %', Caller,
            coalesce(CoherenceThreshold::text, 'NULL') USING ERRCODE = '22023';
    END IF;
    IF MaxConcepts IS NULL OR MaxConcepts < 1 THEN
        RAISE EXCEPTION '%: MaxConcepts must be at least 1, not %', Caller, coalesce(MaxConcepts::text, 'NULL')
            USING ERRCODE = '22023';
    END IF;
    IF EmbeddingType IS NULL OR length(EmbeddingType) NOT BETWEEN 1 AND 64 THEN
        RAISE EXCEPTION '%: EmbeddingType must name a type of 1 to 64 characters', Caller USING ERRCODE = '22023';
    END IF;
END
$$;
