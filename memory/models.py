from django.db import models
from django.utils.translation import gettext_lazy as _


class Chat(models.Model):
  """A conversation place: a private chat with one customer, or a group."""

  class Type(models.TextChoices):
    PRIVATE = "private", _("private")
    GROUP = "group", _("group")
    SUPERGROUP = "supergroup", _("supergroup")
    CHANNEL = "channel", _("channel")

  class StoreMode(models.TextChoices):
    ALL = "all", _("store all messages")
    ADDRESSED = "addressed", _("store only messages addressed to the bot")

  channel = models.CharField(_("channel"), max_length=20, default="telegram")
  external_id = models.CharField(_("external id"), max_length=64, help_text=_("Telegram chat id."))
  type = models.CharField(_("type"), max_length=12, choices=Type.choices, default=Type.PRIVATE)
  title = models.CharField(_("title"), max_length=255, blank=True)
  username = models.CharField(_("username"), max_length=100, blank=True)
  is_forum = models.BooleanField(_("forum"), default=False)
  bot_enabled = models.BooleanField(_("bot enabled"), default=True)
  allowed = models.BooleanField(
    _("allowed"), default=True, help_text=_("For groups: the business allows the bot here.")
  )
  store_mode = models.CharField(
    _("storage"), max_length=10, choices=StoreMode.choices, default=StoreMode.ALL
  )
  bot_is_member = models.BooleanField(_("bot is a member"), default=True)
  # The group was told once that the business has not allowed the bot there (reset when allowed).
  not_allowed_notice_sent = models.BooleanField(_("told it is not allowed"), default=False)
  created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
  updated_at = models.DateTimeField(_("updated"), auto_now=True)

  class Meta:
    verbose_name = _("chat")
    verbose_name_plural = _("chats")
    ordering = ["-created_at"]
    constraints = [
      models.UniqueConstraint(fields=["channel", "external_id"], name="chat_channel_external_uniq")
    ]

  def __str__(self) -> str:
    return self.title or f"{self.get_type_display()} {self.external_id}"


class Message(models.Model):
  """One message in a chat, inbound or outbound, with usage data for assistant replies."""

  class Role(models.TextChoices):
    USER = "user", _("customer")
    ASSISTANT = "assistant", _("assistant")
    OPERATOR = "operator", _("operator")
    SYSTEM = "system", _("system")

  # No single-column indexes on chat and customer: the (chat, …) and (customer, …) indexes
  # below lead with them and serve every look-up by either; two more would only slow inserts.
  chat = models.ForeignKey(Chat, on_delete=models.CASCADE, related_name="messages", db_index=False)
  customer = models.ForeignKey(
    "leads.Customer",
    verbose_name=_("customer"),
    on_delete=models.CASCADE,
    null=True,
    blank=True,
    db_index=False,
    related_name="messages",
    help_text=_("The customer who wrote it, or whom an assistant reply answers."),
  )
  role = models.CharField(_("role"), max_length=10, choices=Role.choices)
  text = models.TextField(_("text"), blank=True)
  kind = models.CharField(
    _("kind"), max_length=20, default="text", help_text=_("text, contact, button, photo...")
  )
  thread_id = models.BigIntegerField(_("topic"), null=True, blank=True)
  external_message_id = models.BigIntegerField(_("Telegram message id"), null=True, blank=True)
  update_id = models.BigIntegerField(_("Telegram update id"), null=True, blank=True)
  reply_to = models.ForeignKey(
    "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="replies"
  )
  addressed = models.BooleanField(_("addressed to the bot"), default=True)
  is_fallback = models.BooleanField(
    _("fallback answer"),
    default=False,
    help_text=_("The LLM was unavailable; answered from FAQ or deferred."),
  )
  model_name = models.CharField(_("model"), max_length=200, blank=True)
  prompt_version = models.ForeignKey(
    "llm.PromptVersion", on_delete=models.SET_NULL, null=True, blank=True, related_name="messages"
  )
  prompt_tokens = models.PositiveIntegerField(_("prompt tokens"), null=True, blank=True)
  completion_tokens = models.PositiveIntegerField(_("completion tokens"), null=True, blank=True)
  latency_ms = models.PositiveIntegerField(_("latency, ms"), null=True, blank=True)
  cost = models.DecimalField(_("cost"), max_digits=12, decimal_places=6, null=True, blank=True)
  created_at = models.DateTimeField(_("time"), auto_now_add=True)
  edited_at = models.DateTimeField(_("edited"), null=True, blank=True)

  class Meta:
    verbose_name = _("message")
    verbose_name_plural = _("messages")
    ordering = ["-created_at", "-id"]
    indexes = [
      models.Index(fields=["chat", "-created_at", "-id"], name="message_chat_recent_idx"),
      models.Index(fields=["customer", "-created_at", "-id"], name="message_customer_recent_idx"),
      # Forum topics: a quiet topic's history without scanning the whole busy chat.
      models.Index(
        fields=["chat", "thread_id", "-created_at", "-id"],
        condition=models.Q(thread_id__isnull=False),
        name="message_thread_recent_idx",
      ),
      # Newest-first lists over all chats (admin), without sorting ties by id in memory.
      models.Index(fields=["-created_at", "-id"], name="message_created_id_idx"),
    ]
    constraints = [
      # A duplicated Telegram update or message is stored once.
      models.UniqueConstraint(
        fields=["chat", "external_message_id", "role"],
        condition=models.Q(external_message_id__isnull=False),
        name="message_chat_external_uniq",
      ),
      models.UniqueConstraint(
        fields=["update_id"],
        condition=models.Q(update_id__isnull=False),
        name="message_update_uniq",
      ),
    ]

  def __str__(self) -> str:
    return f"{self.get_role_display()}: {self.text[:60]}"


class MessageEmbedding(models.Model):
  """Optional semantic memory: a message's embedding vector (float32, unit length) as bytes.

  A plain table on every database (no pgvector needed). Deleted with its message; an edit of the
  message text deletes it too (a database trigger), and the backfill computes it again.
  """

  message = models.OneToOneField(
    Message, on_delete=models.CASCADE, primary_key=True, related_name="embedding"
  )
  model_name = models.CharField(_("model"), max_length=200)
  dimensions = models.PositiveIntegerField(_("dimensions"))
  vector = models.BinaryField(_("vector"))
  created_at = models.DateTimeField(_("created"), auto_now_add=True)

  class Meta:
    verbose_name = _("message embedding")
    verbose_name_plural = _("message embeddings")

  def __str__(self) -> str:
    return f"{self.model_name} × {self.dimensions} for message {self.message_id}"
