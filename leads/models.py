from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Customer(models.Model):
  """A person talking to the assistant on one channel (a Telegram user, a console tester...)."""

  class Consent(models.TextChoices):
    UNKNOWN = "unknown", _("not asked yet")
    GIVEN = "given", _("given")
    REFUSED = "refused", _("refused")

  channel = models.CharField(_("channel"), max_length=20, default="telegram")
  external_id = models.CharField(_("external id"), max_length=64, help_text=_("Telegram user id."))
  username = models.CharField(_("username"), max_length=100, blank=True)
  first_name = models.CharField(_("first name"), max_length=200, blank=True)
  last_name = models.CharField(_("last name"), max_length=200, blank=True)
  display_name = models.CharField(_("name given"), max_length=200, blank=True)
  language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES, default="ru")
  consent = models.CharField(
    _("consent"), max_length=10, choices=Consent.choices, default=Consent.UNKNOWN
  )
  consent_at = models.DateTimeField(_("consent time"), null=True, blank=True)
  phone = models.CharField(
    _("phone"), max_length=20, blank=True, help_text=_("E.164, e.g. +79123456789.")
  )
  email = models.EmailField(_("e-mail"), blank=True)
  selected_model = models.ForeignKey(
    "llm.LLMModel",
    verbose_name=_("chosen model"),
    on_delete=models.SET_NULL,
    null=True,
    blank=True,
    related_name="+",
  )
  state = models.JSONField(_("dialogue state"), default=dict, blank=True)
  created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
  updated_at = models.DateTimeField(_("updated"), auto_now=True)
  last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)

  class Meta:
    verbose_name = _("customer")
    verbose_name_plural = _("customers")
    ordering = ["-created_at"]
    permissions = [("export_customer", "Can export customers")]
    indexes = [models.Index(fields=["-created_at", "-id"], name="customer_created_id_idx")]
    constraints = [
      models.UniqueConstraint(
        fields=["channel", "external_id"], name="customer_channel_external_uniq"
      )
    ]

  def __str__(self) -> str:
    name = self.display_name or " ".join(p for p in [self.first_name, self.last_name] if p)
    return name or (f"@{self.username}" if self.username else f"{self.channel}:{self.external_id}")


class CatalogService(models.Model):
  """A service the business sells; one row per language."""

  slug = models.SlugField(_("code"), max_length=100)
  language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES, default="ru")
  name = models.CharField(_("name"), max_length=200)
  description = models.TextField(_("description"), blank=True)
  price = models.DecimalField(_("price"), max_digits=12, decimal_places=2, null=True, blank=True)
  currency = models.CharField(_("currency"), max_length=3, default="RUB")
  active = models.BooleanField(_("active"), default=True)
  ordering = models.PositiveIntegerField(_("order"), default=100)
  updated_at = models.DateTimeField(_("updated"), auto_now=True)

  class Meta:
    verbose_name = _("service")
    verbose_name_plural = _("catalog")
    ordering = ["ordering", "name"]
    constraints = [
      models.UniqueConstraint(fields=["slug", "language"], name="catalog_slug_language_uniq")
    ]

  def __str__(self) -> str:
    return self.name


class FAQEntry(models.Model):
  """A question the business answers the same way every time; one row per language."""

  key = models.SlugField(_("code"), max_length=100)
  language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES, default="ru")
  question = models.TextField(_("question"))
  answer = models.TextField(_("answer"))
  keywords = models.TextField(
    _("keywords"), blank=True, help_text=_("Extra words that should match.")
  )
  active = models.BooleanField(_("active"), default=True)
  updated_at = models.DateTimeField(_("updated"), auto_now=True)

  class Meta:
    verbose_name = _("FAQ entry")
    verbose_name_plural = _("FAQ")
    ordering = ["key", "language"]
    constraints = [
      models.UniqueConstraint(fields=["key", "language"], name="faq_key_language_uniq")
    ]

  def __str__(self) -> str:
    return self.question[:80]


class Scenario(models.Model):
  """A needs-discovery script: a list of qualifying questions defined as data."""

  key = models.SlugField(_("code"), max_length=100)
  language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES, default="ru")
  title = models.CharField(_("title"), max_length=200)
  steps = models.JSONField(
    _("steps"),
    default=list,
    help_text=_('[{"key": "budget", "question": "...", "options": [...]}]'),
  )
  active = models.BooleanField(_("active"), default=True)
  updated_at = models.DateTimeField(_("updated"), auto_now=True)

  class Meta:
    verbose_name = _("scenario")
    verbose_name_plural = _("scenarios")
    ordering = ["key", "language"]
    constraints = [
      models.UniqueConstraint(fields=["key", "language"], name="scenario_key_language_uniq")
    ]

  def __str__(self) -> str:
    return self.title


class Lead(models.Model):
  """A sales opportunity with a customer, moved through the pipeline by staff and the assistant."""

  class Stage(models.TextChoices):
    NEW = "new", _("new")
    QUALIFIED = "qualified", _("qualified")
    CONTACTED = "contacted", _("contacted")
    WON = "won", _("won")
    LOST = "lost", _("lost")

  customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="leads")
  stage = models.CharField(_("stage"), max_length=10, choices=Stage.choices, default=Stage.NEW)
  service = models.ForeignKey(
    CatalogService,
    verbose_name=_("service of interest"),
    on_delete=models.SET_NULL,
    null=True,
    blank=True,
    related_name="leads",
  )
  source = models.CharField(_("source"), max_length=40, default="telegram")
  name = models.CharField(_("name"), max_length=200, blank=True)
  phone = models.CharField(_("phone"), max_length=20, blank=True)
  email = models.EmailField(_("e-mail"), blank=True)
  answers = models.JSONField(_("scenario answers"), default=dict, blank=True)
  notes = models.TextField(_("notes"), blank=True)
  created_at = models.DateTimeField(_("created"), auto_now_add=True)
  updated_at = models.DateTimeField(_("updated"), auto_now=True)
  stage_changed_at = models.DateTimeField(_("stage changed"), null=True, blank=True)

  class Meta:
    verbose_name = _("lead")
    verbose_name_plural = _("leads")
    ordering = ["-created_at"]
    permissions = [
      ("export_lead", "Can export leads"),
      ("view_analytics", "Can see analytics"),
    ]
    indexes = [
      models.Index(fields=["-created_at", "-id"], name="lead_created_id_idx"),
      models.Index(fields=["stage", "-created_at"], name="lead_stage_created_idx"),
      models.Index(fields=["source", "-created_at"], name="lead_source_created_idx"),
    ]

  def __str__(self) -> str:
    return f"{self.customer} ({self.get_stage_display()})"


class Feedback(models.Model):
  """A customer's rating of one assistant answer, or free feedback (no message)."""

  class Rating(models.IntegerChoices):
    DOWN = -1, "👎"
    NONE = 0, _("comment only")
    UP = 1, "👍"

  customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="feedback")
  message = models.ForeignKey(
    "memory.Message", on_delete=models.CASCADE, null=True, blank=True, related_name="feedback"
  )
  prompt_version = models.ForeignKey(
    "llm.PromptVersion", on_delete=models.SET_NULL, null=True, blank=True, related_name="feedback"
  )
  rating = models.SmallIntegerField(_("rating"), choices=Rating.choices, default=Rating.NONE)
  comment = models.TextField(_("comment"), blank=True)
  created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)

  class Meta:
    verbose_name = _("feedback")
    verbose_name_plural = _("feedback")
    ordering = ["-created_at"]

  def __str__(self) -> str:
    return f"{self.get_rating_display()} {self.comment[:40]}"


class ContentLoad(models.Model):
  """One load of the content file; the latest row tells which rows came from the file, as written.

  `items` maps "section:key:language" to a hash of the row's fields as the loader wrote them: a
  row whose fields no longer match was edited in the admin since, and a reload keeps it.
  """

  path = models.CharField(_("file"), max_length=500)
  sha256 = models.CharField(_("file SHA-256"), max_length=64)
  loaded_at = models.DateTimeField(_("loaded"), auto_now_add=True, db_index=True)
  forced = models.BooleanField(_("forced"), default=False)
  summary = models.JSONField(_("summary"), default=dict, blank=True)
  items = models.JSONField(_("item hashes"), default=dict, blank=True)

  class Meta:
    verbose_name = _("content load")
    verbose_name_plural = _("content loads")
    ordering = ["-loaded_at", "-pk"]

  def __str__(self) -> str:
    return f"{self.path} @ {self.loaded_at:%Y-%m-%d %H:%M}"
