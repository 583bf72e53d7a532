"""Drive django-import-export's admin import and export screens like a person would."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client


def _format_index(form, name: str) -> str:
  return next(value for value, label in form.fields["format"].choices if label == name)


def admin_import(client: Client, import_url: str, process_url: str, csv_text: str):
  """Upload `csv_text`, confirm the preview; returns (preview response, final response)."""
  form = client.get(import_url).context["form"]
  upload = SimpleUploadedFile("data.csv", csv_text.encode(), content_type="text/csv")
  preview = client.post(import_url, {"import_file": upload, "format": _format_index(form, "csv")})
  confirm = preview.context["confirm_form"]
  data = {name: confirm.initial.get(name, "") for name in confirm.fields}
  return preview, client.post(process_url, data, follow=True)


def admin_export_csv(client: Client, export_url: str) -> str:
  """Export every field as CSV through the export screen; returns the file's text."""
  form = client.get(export_url).context["form"]
  data = {"format": _format_index(form, "csv")}
  for name in form.fields:
    if name not in {"format", "resource", "export_items"}:
      data[name] = "on"
  if "resource" in form.fields:
    data["resource"] = form.fields["resource"].choices[0][0]
  response = client.post(export_url, data)
  return response.content.decode("utf-8-sig")
