"""Exporting a trained embedding model for serving: TorchScript or ONNX, with a JSON sidecar.

The exported graph is the whole metric network in eval mode (trunk -> neck -> embedder -> L2 normalisation
when the model has it) taking an already preprocessed float32 N×3×H×W batch; the DAML generator is a
training-time component and is never exported. `daml_cli.export.job.export_model` is the entry point.
"""
