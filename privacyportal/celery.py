import os

from celery import Celery, signals

from .logs import request_id_var

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "privacyportal.settings")

app = Celery("privacyportal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.setup_logging.connect
def keep_django_logging(**kwargs):
    """Django's LOGGING is the only logging setup, in workers too (JSON, request ids,
    masked numbers): Celery's Django fixup runs django.setup(), which applies it.
    Without a receiver Celery would replace the root handlers with its own."""


@signals.before_task_publish.connect
def send_request_id(headers=None, **kwargs):
    """A task queued while a request is served logs under that request's id."""
    request_id = request_id_var.get()
    if request_id and headers is not None:
        headers["request_id"] = request_id


@signals.task_prerun.connect
def receive_request_id(task=None, **kwargs):
    request_id = getattr(task.request, "request_id", None)
    if request_id:
        task.request.request_id_token = request_id_var.set(request_id)


@signals.task_postrun.connect
def forget_request_id(task=None, **kwargs):
    token = getattr(task.request, "request_id_token", None)
    if token is not None:
        request_id_var.reset(token)
