"""How nbtrack's records correspond to other trackers' (MLflow): one mapping, shared by every bridge."""
