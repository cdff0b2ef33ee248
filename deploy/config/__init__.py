"""Configuration: environments/*.yaml (+ extends:, $DEPLOY_OVERLAY, ${VAR}s) -> typed config; shipped files.

    environment.py  environments/<name>.yaml -> one validated, typed Environment
    layers.py       the raw layers: the file, the bases it `extends:`, $DEPLOY_OVERLAY
    refs.py         `${VAR}` references: plain values and declared secrets
    shipped.py      the files the tool ships (templates/, checks/, sql/): checkout or wheel
"""
