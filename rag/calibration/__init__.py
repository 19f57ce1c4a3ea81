"""`rag calibrate` and the operating points: the calibration set (calibration_set), the fit of the lenient,
balanced and strict points from recorded checks (fit), and the run that makes a fit (calibrate). Where fits
are kept, keyed by the model's fingerprint, is rag.models.calibration (the settings read it)."""
