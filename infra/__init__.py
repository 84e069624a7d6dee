"""Infrastructure tooling around ``template.yaml``: the embedded local stack lives in ``local``."""
