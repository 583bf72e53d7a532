"""Admin exports: CSV streamed while it is read, XLSX built in the background into var/exports/.

A 100,000-row XLSX takes seconds to build and can only be sent once it is complete, so it is
written by a worker thread (openpyxl write-only mode, constant memory) while the staff member
watches the exports page; CSV goes out row by row as a StreamingHttpResponse. Each XLSX job is
a file plus a JSON sidecar (status, rows, heartbeat), so any web process can list and serve it.
"""

from __future__ import annotations

import csv
import json
import logging
import re
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.db import connections
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from import_export.resources import Resource
from openpyxl import Workbook

logger = logging.getLogger(__name__)

CHUNK_SIZE = 2000
HEARTBEAT_ROWS = 5000
STALE_SECONDS = 600  # a running job silent this long died with its process
_FORMULA_START = ("=", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-][\d\s().-]*$")  # phones like +7 912 ... are not formulas

_executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="export")
_futures: dict[str, Future] = {}


@dataclass
class ExportJob:
  """One background export and its file in var/exports/<user id>/."""

  id: str
  user_id: int
  name: str
  status: str = "running"  # running, done, failed
  rows: int = 0
  created_at: float = field(default_factory=time.time)
  finished_at: float | None = None
  heartbeat: float = field(default_factory=time.time)
  error: str = ""
  language: str = ""  # the staff member's: column names and values are written in it

  @property
  def directory(self) -> Path:
    return Path(settings.EXPORT_DIR) / str(self.user_id)

  @property
  def file_path(self) -> Path:
    return self.directory / f"{self.id}.xlsx"

  @property
  def created(self) -> datetime:
    return datetime.fromtimestamp(self.created_at, UTC)

  @property
  def filename(self) -> str:
    return f"{self.name}-{timezone.localtime(self.created):%Y%m%d-%H%M%S}.xlsx"

  @property
  def is_stale(self) -> bool:
    return self.status == "running" and time.time() - self.heartbeat > STALE_SECONDS

  def save(self) -> None:
    self.directory.mkdir(parents=True, exist_ok=True)
    sidecar = self.directory / f"{self.id}.json"
    temporary = sidecar.with_suffix(".tmp")
    temporary.write_text(json.dumps(asdict(self)))
    temporary.replace(sidecar)  # atomic: a reader never sees half a file


def safe_cell(value: Any) -> Any:
  """Neutralise text a spreadsheet would run as a formula (CSV/formula injection)."""
  is_text = isinstance(value, str) and value
  formula = is_text and (
    value.startswith(_FORMULA_START) or (value[0] in "+-" and not _PLAIN_NUMBER.match(value))
  )
  return "'" + value if formula else value


def export_rows(
  *, resource: Resource, queryset: QuerySet, native: bool = False
) -> Iterator[list[Any]]:
  """Header row, then one row per object, read in chunks (constant memory)."""
  options = {"force_native_type": True} if native else {}
  getters = [_getter(resource, field, options) for field in resource.get_export_fields()]
  yield resource.get_export_headers()
  for instance in queryset.iterator(chunk_size=CHUNK_SIZE):
    yield [safe_cell(getter(instance)) for getter in getters]


def _getter(resource: Resource, field: Any, options: dict) -> Callable[[Any], Any]:
  """What Resource.export_field does for `field`, resolved once instead of once per row."""
  method = field.get_dehydrate_method(resource.get_field_name(field))
  if callable(method):
    return method
  bound = getattr(resource, method, None)
  return bound if bound is not None else partial(field.export, **options)


class _Echo:
  """A file-like object whose write() hands the line back, for csv.writer in a generator."""

  def write(self, value: str) -> str:
    return value


def _csv_lines(rows: Iterable[list[Any]]) -> Iterator[str]:
  writer = csv.writer(_Echo())
  yield "\ufeff"  # BOM: Excel then opens UTF-8 (Cyrillic) correctly
  for row in rows:
    yield writer.writerow(row)


def export_csv_response(*, resource: Resource, queryset: QuerySet, name: str) -> HttpResponse:
  """A CSV download that starts at once and streams rows as they are read."""
  response = StreamingHttpResponse(
    _csv_lines(export_rows(resource=resource, queryset=queryset)),
    content_type="text/csv; charset=utf-8",
  )
  stamp = timezone.localtime()
  response["Content-Disposition"] = f'attachment; filename="{name}-{stamp:%Y%m%d-%H%M%S}.csv"'
  return response


def export_xlsx_start(
  *, user_id: int, resource: Resource, queryset: QuerySet, name: str
) -> ExportJob:
  """Queue an XLSX build in the background; the job shows up on the exports page."""
  export_prune()
  job = ExportJob(
    id=secrets.token_hex(8), user_id=user_id, name=name, language=translation.get_language() or ""
  )
  job.save()
  _futures[job.id] = _executor.submit(_xlsx_build, job, resource, queryset)
  logger.info("Export %s (%s) started by user %s", job.id, name, user_id)
  return job


def _xlsx_build(job: ExportJob, resource: Resource, queryset: QuerySet) -> None:
  try:
    with translation.override(job.language or None):
      _xlsx_write(job, resource, queryset)
    job.status = "done"
  except Exception as error:
    logger.exception("Export %s failed", job.id)
    job.status, job.error = "failed", str(error)[:500]
  finally:
    connections.close_all()  # this thread's own connections
  job.finished_at = job.heartbeat = time.time()
  job.save()
  logger.info("Export %s %s: %s rows", job.id, job.status, job.rows)


def _xlsx_write(job: ExportJob, resource: Resource, queryset: QuerySet) -> None:
  workbook = Workbook(write_only=True)
  sheet = workbook.create_sheet(title=job.name[:31])
  for index, row in enumerate(export_rows(resource=resource, queryset=queryset, native=True)):
    sheet.append(row)
    job.rows = index  # the header is row 0
    if index and index % HEARTBEAT_ROWS == 0:
      job.heartbeat = time.time()
      job.save()
  partial = job.file_path.with_suffix(".part")
  workbook.save(partial)
  partial.replace(job.file_path)


def export_wait(*, job_id: str, timeout: float = 60.0) -> None:
  """Block until a job started in this process has finished (tests, scripts)."""
  future = _futures.get(job_id)
  if future is not None:
    future.result(timeout=timeout)


def _job_load(sidecar: Path) -> ExportJob | None:
  try:
    return ExportJob(**json.loads(sidecar.read_text()))
  except (OSError, ValueError, TypeError):
    return None


def export_list(*, user_id: int) -> list[ExportJob]:
  """A user's exports, newest first."""
  directory = Path(settings.EXPORT_DIR) / str(user_id)
  jobs = [job for path in directory.glob("*.json") if (job := _job_load(path))]
  return sorted(jobs, key=lambda job: job.created_at, reverse=True)


def export_get(*, user_id: int, job_id: str) -> ExportJob | None:
  if not re.fullmatch(r"[0-9a-f]{16}", job_id):
    return None
  return _job_load(Path(settings.EXPORT_DIR) / str(user_id) / f"{job_id}.json")


def export_delete(*, job: ExportJob) -> None:
  for suffix in (".xlsx", ".part", ".json"):
    job.file_path.with_suffix(suffix).unlink(missing_ok=True)


def export_prune() -> int:
  """Delete finished exports older than EXPORT_KEEP_DAYS; returns how many went."""
  cutoff = time.time() - settings.EXPORT_KEEP_DAYS * 86400
  removed = 0
  for sidecar in Path(settings.EXPORT_DIR).glob("*/*.json"):
    job = _job_load(sidecar)
    if job is not None and job.status != "running" and job.created_at < cutoff:
      export_delete(job=job)
      removed += 1
  return removed


def export_list_view(request: HttpRequest) -> HttpResponse:
  """The staff member's exports, refreshing itself while one is being built."""
  export_prune()
  jobs = export_list(user_id=request.user.pk)
  context = {
    **admin.site.each_context(request),
    "title": _("My exports"),
    "jobs": jobs,
    "keep_days": settings.EXPORT_KEEP_DAYS,
    "refresh": any(job.status == "running" and not job.is_stale for job in jobs),
  }
  return TemplateResponse(request, "admin/exports.html", context)


def export_download_view(request: HttpRequest, job_id: str) -> HttpResponse:
  job = export_get(user_id=request.user.pk, job_id=job_id)
  if job is None or job.status != "done" or not job.file_path.exists():
    raise Http404(_("This export does not exist or is not ready."))
  return FileResponse(job.file_path.open("rb"), as_attachment=True, filename=job.filename)


@require_POST
def export_delete_view(request: HttpRequest, job_id: str) -> HttpResponse:
  job = export_get(user_id=request.user.pk, job_id=job_id)
  if job is None:
    raise Http404(_("This export does not exist or is not ready."))
  export_delete(job=job)
  messages.success(request, _("The export was deleted."))
  return redirect("admin:exports")


class FilteredExportMixin:
  """ModelAdmin mixin: "Export CSV" / "Export XLSX" of the list as currently filtered and sorted."""

  change_list_template = "admin/export_change_list.html"
  export_resource_class: type[Resource]
  export_permission: str
  export_name: str
  export_select_related: tuple[str, ...] = ()

  def get_urls(self) -> list:
    from django.urls import path

    info = self.opts.app_label, self.opts.model_name
    view = self.admin_site.admin_view(self.export_view)
    return [
      path("export/<slug:fmt>/", view, name="{}_{}_export".format(*info))
    ] + super().get_urls()

  def has_export_permission(self, request: HttpRequest) -> bool:
    return request.user.has_perm(self.export_permission)

  def changelist_view(
    self, request: HttpRequest, extra_context: dict | None = None
  ) -> HttpResponse:
    extra_context = {
      **(extra_context or {}),
      "has_export_permission": self.has_export_permission(request),
    }
    return super().changelist_view(request, extra_context)

  def export_queryset(self, request: HttpRequest) -> QuerySet:
    """The changelist's own queryset: the same filters, search and ordering the user sees."""
    changelist = self.get_changelist_instance(request)
    queryset = changelist.get_queryset(request)
    return (
      queryset.select_related(*self.export_select_related)
      if self.export_select_related
      else queryset
    )

  def export_view(self, request: HttpRequest, fmt: str) -> HttpResponse:
    from django.core.exceptions import PermissionDenied

    if not self.has_export_permission(request):
      raise PermissionDenied
    if fmt not in {"csv", "xlsx"}:
      raise Http404(_("Unknown export format."))
    queryset = self.export_queryset(request)
    resource = self.export_resource_class()
    logger.info("User %s exports %s as %s", request.user.pk, self.export_name, fmt)
    if fmt == "csv":
      return export_csv_response(resource=resource, queryset=queryset, name=self.export_name)
    export_xlsx_start(
      user_id=request.user.pk, resource=resource, queryset=queryset, name=self.export_name
    )
    messages.info(request, _("The XLSX file is being built; it appears here when it is ready."))
    return redirect("admin:exports")
