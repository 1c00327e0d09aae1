"""``python -m services.plans``: run the plans service."""

from services.plans.bootstrap import PlansService
from services.plans.settings import PlansSettings
from services.shared.main import serve
from services.shared.metrics import process_registry

if __name__ == "__main__":
    settings = PlansSettings()
    serve(PlansService(settings, process_registry()), settings.http_port)
