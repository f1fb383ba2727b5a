-- kind: function
-- requires: dbo.sp_GenerateText, dbo.Models, dbo.fn_ResolveTenant, dbo.sp_ChargeUsage, dbo.fn_LoadExternalLibrary, hartonomous_ext, Reasoning.SelfConsistencyResults, Reasoning.ReasoningChains, Reasoning.MultiPathReasoning, Attention.AttentionGenerationLog
-- engine-specific: the Python body of the three reasoning procedures on PostgreSQL, behind their PL/pgSQL fronts (which give its errors as a caller reads them); SQL Server's procedures loop over dbo.sp_GenerateText in T-SQL and run the same policy through sp_execute_external_script
-- The work of dbo.sp_SelfConsistencyReasoning (Framework 'self_consistency', Count = NumSamples),
-- dbo.sp_ChainOfThoughtReasoning ('chain_of_thought', Count = MaxSteps) and dbo.sp_MultiPathReasoning
-- ('multi_path', Count = NumPaths, Depth = MaxDepth): checks the arguments (hartonomous_ext.reasoning),
-- the models and the tenant's quota for every token it may generate, generates each sample or step
-- through dbo.sp_GenerateText (metered and recorded there), and writes the run's row. Returns that
-- row's id and its computed values as JSON. Not granted to any tenant role.
CREATE OR REPLACE FUNCTION dbo.fn_Reasoning(
    Framework text,
    ProblemId uuid,
    Prompt text,
    Count integer,
    Depth integer,
    Temperature double precision,
    MaxTokens integer,
    ModelIds text,
    TenantId integer,
    Seed bigint
)
RETURNS jsonb
LANGUAGE plpython3u
VOLATILE
SET search_path = dbo, public, pg_temp
AS $$
{% include "bindings/_plpython_preamble.py" %}
import json
import time
import uuid
from hartonomous_ext import generation, reasoning
from hartonomous_ext.model_formats import FormatError

procedure, count_name = {"self_consistency": ("sp_SelfConsistencyReasoning", "NumSamples"),
                         "chain_of_thought": ("sp_ChainOfThoughtReasoning", "MaxSteps"),
                         "multi_path": ("sp_MultiPathReasoning", "NumPaths")}[framework]
tenant = plpy.execute(plpy.prepare("SELECT dbo.fn_ResolveTenant($1, $2) AS t", ["integer", "text"]),
                      [tenantid, procedure])[0]["t"]
counts = {count_name: count}
if framework == "multi_path":
    counts["MaxDepth"] = depth
try:
    reasoning.check_arguments(procedure, prompt, counts, temperature, maxtokens, seed)
    model_ids = generation.parse_model_ids(modelids)
except (reasoning.ReasoningError, FormatError) as exc:
    message = str(exc)
    plpy.error(message if message.startswith(procedure) else f"{procedure}: {message}", sqlstate="22023")
missing = plpy.execute(plpy.prepare(
    "SELECT count(*) AS n FROM unnest($1::integer[]) AS r(ModelId) "
    "WHERE NOT EXISTS (SELECT FROM dbo.Models m WHERE m.ModelId = r.ModelId AND m.TenantId = $2)",
    ["integer[]", "integer"]), [sorted(set(model_ids)), tenant])[0]["n"]
if missing:
    plpy.error(f"{procedure}: {missing} of the ModelIds do not exist for tenant {tenant}", sqlstate="22023")
# every token the run may generate must fit in what is left of the month's quota, before the first
generations = count * (depth if framework == "multi_path" else 1)
plpy.execute(plpy.prepare("CALL dbo.sp_ChargeUsage($1, 'generated_token', $2, $3, true)", ["integer", "bigint", "text"]),
             [tenant, generations * maxtokens, procedure])
problem = problemid or str(uuid.uuid4())
models_json = json.dumps(model_ids)
generate = plpy.prepare(
    "SELECT g.StreamId, g.GeneratedText, g.TokenCount FROM dbo.sp_GenerateText(prompt => $1, max_tokens => $2, "
    "temperature => $3, top_k => 0, ModelIds => $4, TenantId => $5, seed => $6) AS g",
    ["text", "integer", "double precision", "text", "integer", "bigint"])
watched = plpy.prepare("SELECT MeanTokenLogProb FROM attention.AttentionGenerationLog WHERE StreamId = $1", ["bigint"])


def run(text, index):
    sample_seed = reasoning.sample_seed(seed, index)
    row = plpy.execute(generate, [text, maxtokens, temperature, models_json, tenant, sample_seed])[0]
    return {"seed": sample_seed, "stream_id": row["streamid"], "text": row["generatedtext"], "tokens": row["tokencount"]}


started = time.perf_counter()
if framework == "self_consistency":
    record = reasoning.self_consistency_record([run(prompt, i) for i in range(count)])
    row_id = plpy.execute(plpy.prepare(
        "INSERT INTO reasoning.SelfConsistencyResults (TenantId, ProblemId, Prompt, ModelIds, NumSamples, Temperature, "
        "MaxTokens, Seed, ConsensusAnswer, ConsensusVotes, AgreementRatio, DistinctAnswers, SampleData, DurationMs) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING ResultId",
        ["integer", "uuid", "text", "jsonb", "integer", "double precision", "integer", "bigint", "text", "integer",
         "double precision", "integer", "jsonb", "double precision"]),
        [tenant, problem, prompt, models_json, count, temperature, maxtokens, seed, record["consensus"], record["votes"],
         record["agreement"], record["distinct"], json.dumps(record["samples"]),
         (time.perf_counter() - started) * 1000])[0]["resultid"]
elif framework == "chain_of_thought":
    steps = []
    for i in range(count):
        step = run(reasoning.step_prompt(prompt, [s["text"] for s in steps]), i)
        if not step["text"].strip():
            break  # the model ended the chain
        steps.append(step)
    record = reasoning.chain_record([{k: s[k] for k in ("seed", "stream_id", "text")} for s in steps])
    row_id = plpy.execute(plpy.prepare(
        "INSERT INTO reasoning.ReasoningChains (TenantId, ProblemId, InitialPrompt, ModelIds, MaxSteps, Temperature, "
        "MaxTokens, Seed, TotalSteps, FinalStep, CoherenceScore, StepCoherence, ChainData, DurationMs) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING ChainId",
        ["integer", "uuid", "text", "jsonb", "integer", "double precision", "integer", "bigint", "integer", "text",
         "double precision", "jsonb", "jsonb", "double precision"]),
        [tenant, problem, prompt, models_json, count, temperature, maxtokens, seed, record["total_steps"],
         record["final_step"], record["coherence"], json.dumps(record["step_coherence"]), json.dumps(record["steps"]),
         (time.perf_counter() - started) * 1000])[0]["chainid"]
else:
    paths = []
    for p in range(count):
        steps = []
        for d in range(depth):
            step = run(reasoning.step_prompt(prompt, [s["text"] for s in steps]), p * depth + d)
            if not step["text"].strip():
                break  # the model ended the path
            step["mean_logprob"] = plpy.execute(watched, [step["stream_id"]])[0]["meantokenlogprob"]
            steps.append(step)
        paths.append(steps)
    record = reasoning.multipath_record(paths)
    row_id = plpy.execute(plpy.prepare(
        "INSERT INTO reasoning.MultiPathReasoning (TenantId, ProblemId, BasePrompt, ModelIds, NumPaths, MaxDepth, "
        "Temperature, MaxTokens, Seed, BestPathIndex, BestScore, BestAnswer, PathAgreement, ReasoningTree, DurationMs) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING ReasoningId",
        ["integer", "uuid", "text", "jsonb", "integer", "integer", "double precision", "integer", "bigint", "integer",
         "double precision", "text", "double precision", "jsonb", "double precision"]),
        [tenant, problem, prompt, models_json, count, depth, temperature, maxtokens, seed, record["best"],
         record["best_score"], record["best_answer"], record["agreement"], json.dumps(record["tree"]),
         (time.perf_counter() - started) * 1000])[0]["reasoningid"]
record.pop("samples", None), record.pop("steps", None), record.pop("tree", None)
return json.dumps({"id": row_id, "problem": problem, **record})
$$;
