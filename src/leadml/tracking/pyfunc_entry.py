"""Entry file for MLflow's models-from-code logging: defines the pyfunc without pickling it.

MLflow executes this file when the model is loaded; leadml itself never imports it.
"""

from mlflow.models import set_model

from leadml.tracking.pyfunc import LeadPyfunc

set_model(LeadPyfunc())
