"""The catalog: /services, a service's details and "I'm interested"."""

from decimal import Decimal

from django.utils.formats import number_format
from django.utils.translation import gettext as _

from assistant.conversation.contacts import contact_ask, contact_known
from assistant.conversation.context import TurnContext, button, rows
from assistant.conversation.texts import business_text
from assistant.types import Reply
from leads.models import CatalogService
from leads.selectors import catalog_get, catalog_list, scenario_list
from leads.services import lead_set_interest

CURRENCY_SIGNS = {"RUB": "₽", "USD": "$", "EUR": "€"}


def services_list(ctx: TurnContext) -> list[Reply]:
  """The catalog as one button per service."""
  services = catalog_list(language=ctx.language)
  if not services:
    return [Reply(text=_("The catalog is empty right now. Ask me anything in your own words."))]
  buttons = [button(_service_label(service), f"svc:{service.slug}") for service in services]
  intro = business_text("services_intro", language=ctx.language)
  return [Reply(text=intro, buttons=rows(*buttons))]


def service_show(ctx: TurnContext, slug: str) -> list[Reply] | None:
  """A service's details with "I'm interested"; None if there is no such service (old button)."""
  service = catalog_get(slug=slug, language=ctx.language)
  if service is None:
    return None
  ctx.label = service.name
  lines = [f"{service.name}", service.description.strip()]
  if service.price is not None:
    lines.append(_("Price: %(price)s") % {"price": price_format(service.price, service.currency)})
  buttons = rows(
    button(_("✋ I'm interested"), f"int:{service.slug}"),
    button(_("⬅️ All services"), "svc:"),
  )
  return [Reply(text="\n\n".join(line for line in lines if line), buttons=buttons)]


def service_interest(ctx: TurnContext, slug: str) -> list[Reply] | None:
  """Record the interest on the lead, then ask for a contact (or offer a scenario)."""
  service = catalog_get(slug=slug, language=ctx.language)
  if service is None:
    return None
  ctx.label = _("I'm interested: %(service)s") % {"service": service.name}
  lead_set_interest(customer=ctx.customer, service=service, source=ctx.state.get("source"))
  text = _("Great, I've noted your interest in “%(service)s”.") % {"service": service.name}
  scenarios = [s for s in scenario_list(language=ctx.language) if s.steps]
  offer = rows(*(button(f"🧭 {s.title}", f"scn:{s.key}") for s in scenarios))
  replies = [Reply(text=text, buttons=offer)]
  if offer:
    replies[0].text += "\n" + _("A few short questions will help us prepare the right offer.")
  if not contact_known(ctx):
    replies += contact_ask(ctx)
  return replies


def price_format(price: Decimal, currency: str) -> str:
  places = 0 if price == price.to_integral_value() else 2
  amount = number_format(price, decimal_pos=places, use_l10n=True, force_grouping=True)
  sign = CURRENCY_SIGNS.get(currency.upper())
  return f"{amount} {sign}" if sign else f"{amount} {currency}"


def _service_label(service: CatalogService) -> str:
  if service.price is None:
    return service.name
  return f"{service.name} — {price_format(service.price, service.currency)}"
