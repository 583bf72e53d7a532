import logging

import pytest

from assistant.db import run_db
from llm.client import complete
from llm.errors import RegistryError
from llm.models import LLMModel
from llm.registry import ModelSpec, chain_build, default_pick, registry_validate, specs_load
from tests.factories import llm_model_factory
from tests.llm.conftest import registry_row

ASK = [{"role": "user", "content": "hi"}]


def _spec(name: str, **fields) -> ModelSpec:
  values = {
    "pk": abs(hash(name)),
    "provider_model_name": name,
    "provider": "openai_compatible",
    "model": "m",
    "base_url": "http://h/v1",
    "encrypted_api_key": "",
  }
  return ModelSpec(**{**values, **fields})


def _names(specs) -> list[str]:
  return [spec.provider_model_name for spec in specs]


def test_chain_order_choice_default_then_fallback_order(settings):
  specs = [
    _spec("c", fallback_order=3),
    _spec("a", fallback_order=1),
    _spec("b", fallback_order=2, is_default=True),
    _spec("off", fallback_order=0, active=False),
  ]

  assert _names(chain_build(specs)) == ["b", "a", "c"]
  assert _names(chain_build(specs, "c")) == ["c", "b", "a"]
  assert _names(chain_build(specs, "off")) == ["b", "a", "c"]
  settings.DEFAULT_LLM_MODEL = "c"
  assert _names(chain_build(specs)) == ["c", "a", "b"]
  assert chain_build([]) == []


def test_default_pick_rules(settings):
  specs = [_spec("a", fallback_order=5), _spec("b", fallback_order=1), _spec("x", active=False)]

  assert default_pick(specs).provider_model_name == "b"  # first active by order
  specs.append(_spec("c", fallback_order=9, is_default=True))
  assert default_pick(specs).provider_model_name == "c"  # the admin's default
  settings.DEFAULT_LLM_MODEL = "a"
  assert default_pick(specs).provider_model_name == "a"  # the environment wins
  settings.DEFAULT_LLM_MODEL = "x"  # inactive: ignored here (start-up validation reports it)
  assert default_pick(specs).provider_model_name == "c"
  assert default_pick([]) is None


@pytest.mark.django_db
def test_specs_are_cached_until_the_table_changes(django_assert_num_queries):
  model = llm_model_factory(provider_model_name="s/1")
  first = specs_load()

  with django_assert_num_queries(1):
    assert specs_load() is first

  model.fallback_order = 7
  model.save()
  assert specs_load()[0].fallback_order == 7
  LLMModel.objects.all().delete()
  assert specs_load() == ()


# --- hot reload -----------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
async def test_file_change_takes_effect_without_restart(registry_file, fake_llm, backup_llm):
  # given a file with one model
  registry_file([registry_row("file/a", base_url=fake_llm.base_url)])
  assert (await complete(messages=ASK)).model_name == "file/a"

  # when the file now says the other model comes first and the first is off
  registry_file(
    [
      registry_row("file/a", base_url=fake_llm.base_url, active=False),
      registry_row("file/b", base_url=backup_llm.base_url),
    ],
    bump=1,
  )

  # then the next answer uses it
  assert (await complete(messages=ASK)).model_name == "file/b"
  assert await run_db(
    lambda: sorted(LLMModel.objects.values_list("provider_model_name", "source"))
  ) == [
    ("file/a", "file"),
    ("file/b", "file"),
  ]


@pytest.mark.django_db(transaction=True)
async def test_bad_file_keeps_the_previous_models(registry_file, fake_llm, caplog):
  registry_file([registry_row("file/a", base_url=fake_llm.base_url)])
  await complete(messages=ASK)

  registry_file("{oops", bump=1)
  with caplog.at_level(logging.ERROR, logger="llm.registry"):
    completion = await complete(messages=ASK)

  assert completion.model_name == "file/a"
  assert "LLM registry not reloaded, keeping the previous models" in caplog.text


@pytest.mark.django_db(transaction=True)
async def test_url_change_takes_effect_without_restart(registry_server, fake_llm, backup_llm):
  registry_server.serve([registry_row("url/a", base_url=fake_llm.base_url)])
  assert (await complete(messages=ASK)).model_name == "url/a"

  registry_server.serve([registry_row("url/b", base_url=backup_llm.base_url)])

  assert (await complete(messages=ASK)).model_name == "url/b"
  url_a = await run_db(LLMModel.objects.get, provider_model_name="url/a")
  assert (url_a.active, url_a.source) == (False, "url")


@pytest.mark.django_db(transaction=True)
async def test_database_edit_takes_effect_without_restart(llm_model, backup_model, fake_llm):
  assert (await complete(messages=ASK)).model_name == "fake/default"

  await run_db(LLMModel.objects.filter(pk=llm_model.pk).update, active=False)
  # .update() skips auto_now; the admin saves the row, which moves updated_at
  await run_db(backup_model.save)

  assert (await complete(messages=ASK)).model_name == "fake/backup"


# --- start-up validation -----------------------------------------------------------------------
@pytest.mark.django_db
def test_registry_validate_syncs_the_file_and_reports(registry_file, settings, caplog):
  registry_file([registry_row("v/a", fallback_order=2), registry_row("v/b", fallback_order=1)])
  settings.DEFAULT_LLM_MODEL = "v/a"

  with caplog.at_level(logging.INFO, logger="llm.registry"):
    report = registry_validate()

  assert report.source == "file"
  assert report.models == ["v/b", "v/a"]
  assert report.default == "v/a"
  assert report.sync["created"] == ["v/a", "v/b"]
  assert "LLM models from file" in caplog.text


@pytest.mark.django_db
def test_registry_validate_unknown_default_is_a_clear_error(llm_model, settings):
  settings.DEFAULT_LLM_MODEL = "typo/model"

  with pytest.raises(RegistryError) as caught:
    registry_validate()

  assert caught.value.problems == [
    "DEFAULT_LLM_MODEL='typo/model' is not an active model; active models: fake/default"
  ]


@pytest.mark.django_db
def test_registry_validate_bad_file_lists_every_problem(registry_file):
  registry_file([registry_row("d/1"), registry_row("d/1"), registry_row("d/2", base_url="x")])

  with pytest.raises(RegistryError) as caught:
    registry_validate()

  assert caught.value.problems == [
    "models[1] 'd/1': duplicate provider_model_name (already used by models[0])",
    "models[2] 'd/2': base_url must be an http:// or https:// URL with a host",
  ]


@pytest.mark.django_db
def test_registry_validate_wrong_master_key_names_the_model(llm_model, settings):
  from cryptography.fernet import Fernet

  settings.LLM_MODEL_DECRYPT_KEY = Fernet.generate_key().decode()
  llm_model_factory(provider_model_name="off/x", active=False)  # inactive rows are not checked

  with pytest.raises(RegistryError) as caught:
    registry_validate()

  assert caught.value.problems == [
    "model 'fake/default': its API key can't be decrypted with LLM_MODEL_DECRYPT_KEY (wrong "
    "master key?)"
  ]


@pytest.mark.django_db
def test_registry_validate_bad_database_row(db):
  llm_model_factory(provider_model_name="db/bad", provider="nope", base_url="http://h/v1")

  with pytest.raises(RegistryError, match="model 'db/bad': unknown provider 'nope'"):
    registry_validate()


@pytest.mark.django_db
def test_registry_validate_without_models_warns(caplog):
  with caplog.at_level(logging.WARNING, logger="llm.registry"):
    report = registry_validate()

  assert (report.source, report.models, report.default, report.sync) == ("db", [], None, None)
  assert "No active LLM model: answers come from the FAQ only" in caplog.text


# --- caching --------------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
async def test_specs_checked_less_than_a_second_ago_need_no_orm_thread(
  settings, monkeypatch, cache_clock
):
  # given: production's reload interval, a frozen clock, the specs loaded once
  from llm import registry

  settings.CONTENT_RELOAD_SECONDS = 5
  await run_db(llm_model_factory, provider_model_name="c/1")
  first = await registry.registry_specs()
  trips = []
  real_run_db = registry.run_db

  async def counting_run_db(func, *args, **kwargs):
    trips.append(func.__name__)
    return await real_run_db(func, *args, **kwargs)

  monkeypatch.setattr(registry, "run_db", counting_run_db)

  # when / then: within the second the snapshot is served as it is, later it is checked again
  assert await registry.registry_specs() is first
  assert trips == []
  cache_clock[0] += 1
  assert await registry.registry_specs() == first
  assert trips == ["specs_load"]
