import pytest

from llm.models import Prompt, PromptVersion
from tests.factories import llm_model_factory

pytestmark = pytest.mark.django_db


def test_str():
  prompt = Prompt.objects.create(key="greeting", language="en", text="Hi")
  version = PromptVersion.objects.create(prompt=prompt, version=3, text="Hi")

  assert str(llm_model_factory(provider_model_name="openai/gpt-4o")) == "openai/gpt-4o"
  assert str(prompt) == "greeting [en]"
  assert str(version) == "greeting [en] v3"
