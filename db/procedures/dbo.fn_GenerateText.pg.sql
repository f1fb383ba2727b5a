-- kind: function
-- requires: dbo.Models, dbo.fn_StoredModel, dbo.fn_StoredModelTensors, dbo.fn_TensorChunk, dbo.InferenceRequests, dbo.GenerationStreams, dbo.sp_StoreAtom, dbo.fn_LoadExternalLibrary, hartonomous_ext, dbo.fn_ResolveTenant, dbo.TenantSecurityPolicy, dbo.fn_CheckModelAccess, dbo.sp_GraphRecordGeneration, Attention.AttentionGenerationLog
-- engine-specific: the Python body of dbo.sp_GenerateText on PostgreSQL, behind its PL/pgSQL front (which gives its errors as a caller reads them); SQL Server's procedure runs the same Python through sp_execute_external_script
-- dbo.sp_GenerateText's work (see there): not granted to any tenant role; call dbo.sp_GenerateText.
CREATE OR REPLACE FUNCTION dbo.fn_GenerateText(
    prompt text,
    max_tokens integer DEFAULT 64,
    temperature double precision DEFAULT 0,
    top_k integer DEFAULT 0,
    ModelIds text DEFAULT NULL,
    TenantId integer DEFAULT NULL,
    seed bigint DEFAULT NULL
)
RETURNS TABLE (StreamId bigint, GeneratedText text, TokenCount integer, RequestId bigint)
LANGUAGE plpython3u
VOLATILE
SET search_path = dbo, public, pg_temp
AS $$
{% include "bindings/_plpython_preamble.py" %}
{% include "bindings/_plpython_stored_models.py" %}
import json
import time
from hartonomous_ext import generation, model_store
from hartonomous_ext.model_formats import FormatError

tenant = plpy.execute(plpy.prepare("SELECT dbo.fn_ResolveTenant($1, 'sp_GenerateText') AS t", ["integer"]),
                      [tenantid])[0]["t"]
if not prompt or not prompt.strip():
    plpy.error("sp_GenerateText: the prompt is empty", sqlstate="22023")
tokens_wanted = max_tokens if max_tokens is not None else 64  # (a parameter's name cannot be assigned here)
try:
    model_ids = generation.parse_model_ids(modelids)
    generation.check_settings(tokens_wanted, temperature or 0.0, top_k or 0)
except FormatError as exc:
    plpy.error(f"sp_GenerateText: {exc}", sqlstate="22023")
# the tenant's own limits (dbo.TenantSecurityPolicy; no row: the package's)
limits = plpy.execute(plpy.prepare("SELECT AllowGeneration, MaxTokensPerCall, MaxIngestBytes FROM dbo.TenantSecurityPolicy "
                                   "WHERE TenantId = $1", ["integer"]), [tenant])
if limits and not limits[0]["allowgeneration"]:
    plpy.error(f"sp_GenerateText: tenant {tenant} may not generate text (dbo.TenantSecurityPolicy)", sqlstate="42501")
if limits and limits[0]["maxtokenspercall"] is not None and tokens_wanted > limits[0]["maxtokenspercall"]:
    plpy.error(f"sp_GenerateText: max_tokens {tokens_wanted} is more than tenant {tenant}'s "
               f"{limits[0]['maxtokenspercall']} (dbo.TenantSecurityPolicy)", sqlstate="54000")
# the prompt is stored as an atom of the tenant (dbo.sp_GraphRecordGeneration, the provenance graph), as
# UTF-8, within the limits dbo.sp_StoreAtom holds it to: refused here, before the model runs, not by
# sp_StoreAtom after the generation (which would roll the whole call back)
prompt_bytes = len(prompt.encode("utf-8"))
if prompt_bytes > {{ policy.MAX_CONTENT_BYTES }}:
    plpy.error(f"sp_GenerateText: the prompt has {prompt_bytes} bytes (UTF-8), more than the "
               f"{{ policy.MAX_CONTENT_BYTES }} allowed: it is stored as an atom", sqlstate="54000")
if limits and limits[0]["maxingestbytes"] is not None and prompt_bytes > limits[0]["maxingestbytes"]:
    plpy.error(f"sp_GenerateText: the prompt has {prompt_bytes} bytes (UTF-8), more than tenant {tenant}'s "
               f"{limits[0]['maxingestbytes']} (dbo.TenantSecurityPolicy): it is stored as an atom", sqlstate="54000")
plpy.execute(plpy.prepare("SELECT dbo.fn_CheckModelAccess($1, $2, 'sp_GenerateText')", ["integer", "jsonb"]),
             [tenant, json.dumps(list(model_ids))])
started = time.perf_counter()
try:
    reader, cache = PlpyStoredModels(), GD.setdefault("llamas", {})
    models = [model_store.cached(cache, reader, m, tenant, generation.load) for m in model_ids]
    result = generation.generate(models, prompt, tokens_wanted, temperature or 0.0, top_k or 0, seed)
except FormatError as exc:
    plpy.error(f"sp_GenerateText: {exc}", sqlstate="22023")
duration = (time.perf_counter() - started) * 1000
request = plpy.execute(plpy.prepare(
    "INSERT INTO dbo.InferenceRequests (TenantId, TaskType, ModelId, Parameters, DurationMs, ResultCount) "
    "VALUES ($1, 'text-generation', $2, $3, $4, $5) RETURNING RequestId",
    ["integer", "integer", "jsonb", "double precision", "integer"]),
    [tenant, model_ids[0], json.dumps({"model_ids": list(model_ids), "max_tokens": max_tokens, "temperature": temperature,
                                       "top_k": top_k, "seed": seed, "prompt": prompt[:200]}),
     duration, len(result["token_ids"])])[0]["requestid"]
atom = None
if result["text"]:
    # stored unmetered (Metered false): the call charges the tokens it generated, not their bytes
    atom = plpy.execute(plpy.prepare("CALL dbo.sp_StoreAtom($1, 'text/plain', $2, $3, false, NULL, false)",
                                     ["bytea", "jsonb", "integer"]),
                        [result["text"].encode(), json.dumps({"generated_by": list(model_ids), "request": request}),
                         tenant])[0]["atomid"]
stream = plpy.execute(plpy.prepare(
    "INSERT INTO dbo.GenerationStreams (RequestId, TenantId, ModelIds, Prompt, PromptTokens, GeneratedTokens, "
    "GeneratedText, Temperature, TopK, Seed, OutputAtomId, FirstTokenMs, TokensPerSecond) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING StreamId",
    ["bigint", "integer", "integer[]", "text", "integer[]", "integer[]", "text", "double precision", "integer", "bigint",
     "bigint", "double precision", "double precision"]),
    [request, tenant, list(model_ids), prompt, result["prompt_ids"], result["token_ids"], result["text"],
     temperature or 0.0, top_k or 0, seed, atom, result["first_token_ms"], result["tokens_per_second"]])[0]["streamid"]
# the provenance graph: the text DerivedFrom its prompt and its models (dbo.sp_GraphRecordGeneration)
plpy.execute(plpy.prepare("CALL dbo.sp_GraphRecordGeneration($1, $2, $3, $4)", ["bigint", "text", "text", "integer"]),
             [atom, prompt, json.dumps(list(model_ids)), tenant])
# what attention did (hartonomous_ext.generation.attention_record), with its stream
watched = generation.attention_record(result)
plpy.execute(plpy.prepare(
    "INSERT INTO attention.AttentionGenerationLog (StreamId, RequestId, TenantId, ModelId, LayerCount, PromptTokens, "
    "GeneratedTokens, Steps, LayerEntropy, MeanEntropy, TopPromptTokens, MeanTokenLogProb, Temperature, TopK, DurationMs) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    ["bigint", "bigint", "integer", "integer", "integer", "integer", "integer", "integer", "jsonb", "double precision",
     "jsonb", "double precision", "double precision", "integer", "double precision"]),
    [stream, request, tenant, model_ids[0], watched["layer_count"], watched["prompt_tokens"], watched["generated_tokens"],
     watched["steps"], json.dumps(watched["layer_entropy"]), watched["mean_entropy"],
     json.dumps(watched["top_prompt_tokens"]), watched["mean_token_logprob"], temperature or 0.0, top_k or 0, duration])
return [(stream, result["text"], len(result["token_ids"]), request)]
$$;
