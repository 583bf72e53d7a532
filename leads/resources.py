"""django-import-export resources: what a lead, customer, catalog or FAQ row looks like in a file.

Leads and customers are exported for people (readable column names and values, no import);
catalog and FAQ rows round-trip (codes as columns, matched on code + language on import).
"""

from __future__ import annotations

from collections import defaultdict

from django.db import models
from django.utils.translation import gettext_lazy as _
from import_export import fields, resources, widgets

from leads.admin_display import answers_plain, step_questions
from leads.models import CatalogService, Customer, FAQEntry, Lead


class _LabelsMixin:
  """Choice labels translated once per export, not once per row (100,000 rows add up)."""

  def labels(self, choices: type[models.TextChoices]) -> defaultdict[str, str]:
    cache = self.__dict__.setdefault("_labels", {})
    if choices not in cache:
      translated = {value: str(label) for value, label in choices.choices}
      cache[choices] = defaultdict(str, translated)
    return cache[choices]


def _field(attribute: str, label: str, widget: widgets.Widget | None = None) -> fields.Field:
  return fields.Field(attribute=attribute, column_name=label, widget=widget, readonly=True)


class LeadResource(_LabelsMixin, resources.ModelResource):
  """One row per lead with the customer's name and contacts and the scenario answers."""

  id = _field("id", "ID")
  created_at = _field("created_at", _("created"), widgets.DateTimeWidget())
  stage = fields.Field(column_name=_("stage"), readonly=True)
  service = fields.Field(column_name=_("service of interest"), readonly=True)
  source = _field("source", _("source"))
  customer = fields.Field(column_name=_("customer"), readonly=True)
  username = _field("customer__username", _("username"))
  name = _field("name", _("name"))
  phone = _field("phone", _("phone"))
  email = _field("email", _("e-mail"))
  consent = fields.Field(column_name=_("consent"), readonly=True)
  language = _field("customer__language", _("language"))
  answers = fields.Field(column_name=_("scenario answers"), readonly=True)
  notes = _field("notes", _("notes"))
  stage_changed_at = _field("stage_changed_at", _("stage changed"), widgets.DateTimeWidget())

  class Meta:
    model = Lead
    fields = (
      "id",
      "created_at",
      "stage",
      "service",
      "source",
      "customer",
      "username",
      "name",
      "phone",
      "email",
      "consent",
      "language",
      "answers",
      "notes",
      "stage_changed_at",
    )
    export_order = fields

  def dehydrate_stage(self, lead: Lead) -> str:
    return self.labels(Lead.Stage)[lead.stage]

  def dehydrate_service(self, lead: Lead) -> str:
    return lead.service.name if lead.service else ""

  def dehydrate_customer(self, lead: Lead) -> str:
    return str(lead.customer)

  def dehydrate_consent(self, lead: Lead) -> str:
    return self.labels(Customer.Consent)[lead.customer.consent]

  def dehydrate_answers(self, lead: Lead) -> str:
    return answers_plain(lead=lead, questions=self.questions(lead.customer.language))

  def questions(self, language: str) -> dict[str, str]:
    """Scenario questions per language, read once per export instead of once per row."""
    cache = self.__dict__.setdefault("_questions", {})
    if language not in cache:
      cache[language] = step_questions(language=language)
    return cache[language]


class CustomerResource(_LabelsMixin, resources.ModelResource):
  id = _field("id", "ID")
  created_at = _field("created_at", _("created"), widgets.DateTimeWidget())
  channel = _field("channel", _("channel"))
  external_id = _field("external_id", _("external id"))
  username = _field("username", _("username"))
  name = fields.Field(column_name=_("name"), readonly=True)
  language = _field("language", _("language"))
  consent = fields.Field(column_name=_("consent"), readonly=True)
  consent_at = _field("consent_at", _("consent time"), widgets.DateTimeWidget())
  phone = _field("phone", _("phone"))
  email = _field("email", _("e-mail"))
  selected_model = _field("selected_model__provider_model_name", _("chosen model"))
  last_seen_at = _field("last_seen_at", _("last seen"), widgets.DateTimeWidget())

  class Meta:
    model = Customer
    fields = (
      "id",
      "created_at",
      "channel",
      "external_id",
      "username",
      "name",
      "language",
      "consent",
      "consent_at",
      "phone",
      "email",
      "selected_model",
      "last_seen_at",
    )
    export_order = fields

  def dehydrate_name(self, customer: Customer) -> str:
    return str(customer)

  def dehydrate_consent(self, customer: Customer) -> str:
    return self.labels(Customer.Consent)[customer.consent]


class CatalogServiceResource(resources.ModelResource):
  class Meta:
    model = CatalogService
    import_id_fields = ("slug", "language")
    fields = ("slug", "language", "name", "description", "price", "currency", "active", "ordering")
    export_order = fields
    skip_unchanged = True
    report_skipped = True
    clean_model_instances = True


class FAQEntryResource(resources.ModelResource):
  class Meta:
    model = FAQEntry
    import_id_fields = ("key", "language")
    fields = ("key", "language", "question", "answer", "keywords", "active")
    export_order = fields
    skip_unchanged = True
    report_skipped = True
    clean_model_instances = True
