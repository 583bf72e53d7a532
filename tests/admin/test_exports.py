import csv
import io
import json
import time

import openpyxl
import pytest
from django.urls import reverse

from assistant import admin_exports
from assistant.admin_exports import ExportJob, export_list, export_prune, export_wait, safe_cell
from leads.models import Customer, Lead
from leads.resources import LeadResource
from tests.factories import customer_factory, lead_factory, llm_model_factory, service_factory


def _csv_rows(response) -> list[list[str]]:
  text = b"".join(response.streaming_content).decode("utf-8")
  assert text.startswith("\ufeff")
  return list(csv.reader(io.StringIO(text[1:])))


@pytest.mark.django_db
def test_lead_csv_export_streams_the_filtered_list_with_readable_values(admin_client_en):
  # given
  service = service_factory(name="Website")
  customer = customer_factory(first_name="Olga", username="olga", consent=Customer.Consent.GIVEN)
  won = lead_factory(
    customer=customer,
    stage=Lead.Stage.WON,
    service=service,
    name="Olga",
    phone="+79990001122",
    answers={"budget": "100k"},
  )
  lead_factory(stage=Lead.Stage.NEW)
  url = reverse("admin:leads_lead_export", args=["csv"])

  # when
  response = admin_client_en.get(url, {"stage__exact": "won"})

  # then
  assert response.streaming
  assert response["Content-Disposition"].startswith('attachment; filename="leads-')
  header, *rows = _csv_rows(response)
  assert header[:6] == ["ID", "created", "stage", "service of interest", "source", "customer"]
  assert len(rows) == 1
  row = dict(zip(header, rows[0], strict=True))
  assert row["ID"] == str(won.pk)
  assert (row["stage"], row["service of interest"], row["customer"]) == ("won", "Website", "Olga")
  assert (row["username"], row["phone"], row["consent"]) == ("olga", "+79990001122", "given")
  assert row["scenario answers"] == "budget: 100k"


@pytest.mark.django_db
def test_csv_export_follows_search_and_ordering(admin_client_en):
  lead_factory(name="Beta")
  lead_factory(name="Alpha")
  lead_factory(name="Gamma")
  url = reverse("admin:leads_lead_export", args=["csv"])
  _header, *rows = _csv_rows(admin_client_en.get(url, {"q": "a", "o": "3"}))
  assert [row[7] for row in rows] == ["Alpha", "Beta", "Gamma"]


@pytest.mark.django_db
def test_customer_csv_export_includes_the_chosen_model(admin_client_en):
  model = llm_model_factory(provider_model_name="fake/pro")
  customer_factory(first_name="Ivan", selected_model=model, phone="=HYPERLINK(1)")
  header, *rows = _csv_rows(
    admin_client_en.get(reverse("admin:leads_customer_export", args=["csv"]))
  )
  row = dict(zip(header, rows[0], strict=True))
  assert (row["name"], row["chosen model"]) == ("Ivan", "fake/pro")
  assert row["phone"] == "'=HYPERLINK(1)"


@pytest.mark.django_db(transaction=True)
def test_lead_xlsx_export_is_built_in_the_background_and_downloaded(admin_client_en):
  # given
  for n in range(3):
    lead_factory(name=f"Lead {n}", stage=Lead.Stage.QUALIFIED)
  lead_factory(name="Other", stage=Lead.Stage.LOST)
  url = reverse("admin:leads_lead_export", args=["xlsx"])

  # when
  response = admin_client_en.get(url, {"stage__exact": "qualified"}, follow=True)
  [job] = response.context["jobs"]
  export_wait(job_id=job.id)
  listing = admin_client_en.get(reverse("admin:exports"))
  download = admin_client_en.get(reverse("admin:export_download", args=[job.id]))

  # then
  assert "The XLSX file is being built" in response.content.decode()
  [done] = listing.context["jobs"]
  assert (done.status, done.rows) == ("done", 3)
  assert listing.context["refresh"] is False
  assert download["Content-Disposition"].startswith('attachment; filename="leads-')
  sheet = openpyxl.load_workbook(io.BytesIO(b"".join(download.streaming_content))).active
  rows = list(sheet.iter_rows(values_only=True))
  assert rows[0][:3] == ("ID", "created", "stage")
  assert sorted(row[7] for row in rows[1:]) == ["Lead 0", "Lead 1", "Lead 2"]
  assert {row[2] for row in rows[1:]} == {"qualified"}
  assert rows[1][1].year >= 2024  # a real date cell, not text


@pytest.mark.django_db(transaction=True)
def test_a_failing_export_is_reported_on_the_exports_page(admin_client_en, monkeypatch):
  lead_factory()

  def broken(*args, **kwargs):
    raise RuntimeError("disk full")

  monkeypatch.setattr(admin_exports, "export_rows", broken)
  response = admin_client_en.get(reverse("admin:leads_lead_export", args=["xlsx"]), follow=True)
  export_wait(job_id=response.context["jobs"][0].id)
  page = admin_client_en.get(reverse("admin:exports")).content.decode()
  assert "failed: disk full" in page


@pytest.mark.django_db
def test_exports_page_refreshes_while_running_and_lists_only_own_files(
  admin_client_en, superuser, settings
):
  # given
  ExportJob(id="a" * 16, user_id=superuser.pk, name="leads").save()
  ExportJob(id="b" * 16, user_id=superuser.pk + 1, name="leads").save()

  # when
  page = admin_client_en.get(reverse("admin:exports"))

  # then
  assert [job.id for job in page.context["jobs"]] == ["a" * 16]
  assert page.context["refresh"] is True
  assert '<meta http-equiv="refresh" content="2">' in page.content.decode()
  assert admin_client_en.get(reverse("admin:export_download", args=["b" * 16])).status_code == 404
  assert admin_client_en.get(reverse("admin:export_download", args=["a" * 16])).status_code == 404


@pytest.mark.django_db
def test_a_silent_running_job_shows_as_interrupted_and_can_be_deleted(admin_client_en, superuser):
  job = ExportJob(id="c" * 16, user_id=superuser.pk, name="leads", heartbeat=time.time() - 3600)
  job.save()
  page = admin_client_en.get(reverse("admin:exports"))
  assert "interrupted" in page.content.decode() and page.context["refresh"] is False
  response = admin_client_en.post(reverse("admin:export_delete", args=[job.id]), follow=True)
  assert "The export was deleted." in response.content.decode()
  assert export_list(user_id=superuser.pk) == []
  assert admin_client_en.post(reverse("admin:export_delete", args=[job.id])).status_code == 404


@pytest.mark.django_db
def test_old_finished_exports_are_pruned(superuser, settings):
  settings.EXPORT_KEEP_DAYS = 7
  old = ExportJob(
    id="d" * 16, user_id=1, name="leads", status="done", created_at=time.time() - 8 * 86400
  )
  old.save()
  old.file_path.write_bytes(b"xlsx")
  ExportJob(id="e" * 16, user_id=1, name="leads", status="done").save()
  assert export_prune() == 1
  assert not old.file_path.exists()
  assert [job.id for job in export_list(user_id=1)] == ["e" * 16]


def test_unreadable_sidecars_and_bad_ids_are_ignored(settings, tmp_path):
  folder = tmp_path / "exports" / "5"
  folder.mkdir(parents=True)
  (folder / "broken.json").write_text("{not json")
  assert export_list(user_id=5) == []
  assert admin_exports.export_get(user_id=5, job_id="../../etc") is None


@pytest.mark.django_db
def test_export_needs_the_export_permission_and_a_known_format(admin_client_en, editor_client):
  url = reverse("admin:leads_lead_export", args=["csv"])
  assert editor_client.get(url).status_code == 403
  assert admin_client_en.get(reverse("admin:leads_lead_export", args=["pdf"])).status_code == 404


@pytest.mark.django_db
def test_changelist_offers_export_links_with_the_current_filters(admin_client_en, manager_client):
  page = admin_client_en.get(reverse("admin:leads_lead_changelist"), {"stage__exact": "won"})
  html = page.content.decode()
  assert reverse("admin:leads_lead_export", args=["xlsx"]) + "?stage__exact=won" in html
  assert reverse("admin:leads_lead_export", args=["csv"]) + "?stage__exact=won" in html
  assert (
    "Export XLSX" in manager_client.get(reverse("admin:leads_customer_changelist")).content.decode()
  )


@pytest.mark.parametrize(
  ("value", "expected"),
  [
    ("=SUM(A1)", "'=SUM(A1)"),
    ("@cmd", "'@cmd"),
    ("+7 (912) 345-67-89", "+7 (912) 345-67-89"),
    ("-5", "-5"),
    ("+cmd|x", "'+cmd|x"),
    ("plain", "plain"),
    ("", ""),
    (42, 42),
  ],
)
def test_safe_cell_neutralises_formulas_but_keeps_phones(value, expected):
  assert safe_cell(value) == expected


def test_job_sidecar_round_trips(settings, tmp_path):
  job = ExportJob(id="f" * 16, user_id=9, name="customers", rows=5)
  job.save()
  saved = json.loads((tmp_path / "exports" / "9" / f"{'f' * 16}.json").read_text())
  assert saved["rows"] == 5 and saved["status"] == "running"
  assert job.filename.startswith("customers-") and job.filename.endswith(".xlsx")


@pytest.mark.django_db
def test_export_rows_use_the_resource_headers_once():
  lead_factory(name="Solo")
  rows = list(admin_exports.export_rows(resource=LeadResource(), queryset=Lead.objects.all()))
  assert len(rows) == 2 and rows[1][7] == "Solo"


@pytest.mark.django_db(transaction=True)
def test_a_long_export_reports_progress_while_it_runs(admin_client_en, monkeypatch):
  # given
  for _ in range(5):
    lead_factory()
  monkeypatch.setattr(admin_exports, "HEARTBEAT_ROWS", 2)
  saved_rows = []
  original_save = ExportJob.save

  def recording_save(job):
    saved_rows.append((job.status, job.rows))
    original_save(job)

  monkeypatch.setattr(ExportJob, "save", recording_save)

  # when
  response = admin_client_en.get(reverse("admin:leads_lead_export", args=["xlsx"]), follow=True)
  export_wait(job_id=response.context["jobs"][0].id)

  # then
  assert saved_rows == [("running", 0), ("running", 2), ("running", 4), ("done", 5)]


@pytest.mark.django_db
def test_export_rows_honour_every_kind_of_field():
  from import_export import fields, resources

  class Plain(resources.ModelResource):
    upper = fields.Field(column_name="upper", dehydrate_method=lambda lead: lead.name.upper())
    stage_code = fields.Field(column_name="stage code")

    class Meta:
      model = Lead
      fields = ("name", "upper", "stage_code")

    def dehydrate_stage_code(self, lead):
      return f"[{lead.stage}]"

  lead_factory(name="Ann")
  rows = list(admin_exports.export_rows(resource=Plain(), queryset=Lead.objects.all()))
  assert rows == [["name", "upper", "stage code"], ["Ann", "ANN", "[new]"]]
