"""Statistical models fitted with numpy/scikit-learn on data the analytics engine computes."""
