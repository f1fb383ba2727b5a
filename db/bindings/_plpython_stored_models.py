class PlpyStoredModels:
    """hartonomous_ext.model_store.StoredModels over PL/Python: dbo.fn_StoredModel,
    dbo.fn_StoredModelTensors and dbo.fn_TensorChunk, plans prepared once per session."""

    def __init__(self):
        self.plans = GD.setdefault("stored_model_plans", {})
        if not self.plans:
            self.plans.update(
                model=plpy.prepare("SELECT * FROM dbo.fn_StoredModel($1, $2)", ["integer", "integer"]),
                tensors=plpy.prepare("SELECT * FROM dbo.fn_StoredModelTensors($1)", ["integer"]),
                chunk=plpy.prepare("SELECT dbo.fn_TensorChunk($1) AS data", ["bytea"]))

    def model(self, model_id, tenant):
        rows = plpy.execute(self.plans["model"], [model_id, tenant])
        return tuple(rows[0].values()) if rows else None

    def tensors(self, model_id):
        return [tuple(r.values()) for r in plpy.execute(self.plans["tensors"], [model_id])]

    def chunk(self, chunk_hash):
        return plpy.execute(self.plans["chunk"], [chunk_hash])[0]["data"]
