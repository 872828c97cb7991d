"""The prompt registry through the official MLflow 3.x client (mlflow.genai; 3.1 where it has it), run by test/registry.

Usage: python prompts_workflow.py <tracking_uri> <prompt_name>
Registers two versions of a text prompt and a chat prompt, moves an alias, loads by version and by
alias and formats them, sets and deletes tags, searches prompts, links a prompt to a run by loading
it inside the run, and prints one JSON document with what it read back.
"""
import json
import sys

import mlflow
import mlflow.genai as genai
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

uri, name = sys.argv[1], sys.argv[2]
mlflow.set_tracking_uri(uri)
client = MlflowClient(uri)


def prompt_api(fn):
    """mlflow.genai's function, else the client's (3.1 keeps prompt tags on MlflowClient only)."""
    return getattr(genai, fn, None) or getattr(client, fn)


def get_prompt_tags(prompt):
    return genai.get_prompt_tags(prompt) if hasattr(genai, "get_prompt_tags") else client.get_prompt(prompt).tags


v1 = genai.register_prompt(name=name, template="Hello {{name}}!", commit_message="first", tags={"team": "genai"})
v2 = genai.register_prompt(name=name, template="Hi {{name}}, welcome to {{place}}.", commit_message="second")
chat = genai.register_prompt(
    name=f"{name}-chat",
    template=[{"role": "system", "content": "You answer about {{topic}}."}, {"role": "user", "content": "{{question}}"}],
)

genai.set_prompt_alias(name, alias="production", version=1)
by_alias_before = genai.load_prompt(f"prompts:/{name}@production").version
genai.set_prompt_alias(name, alias="production", version=2)
by_alias = genai.load_prompt(f"prompts:/{name}@production")
by_version = genai.load_prompt(f"prompts:/{name}/1")
latest = genai.load_prompt(f"prompts:/{name}@latest")

prompt_api("set_prompt_tag")(name, "owner", "alice")
try:
    prompt_api("set_prompt_version_tag")(name, 1, "reviewed", "yes")
except TypeError:
    # 3.1's client passes the version as an int into SetModelVersionTag's string field and fails before any request.
    pass
prompt_tags = get_prompt_tags(name)
prompt_api("delete_prompt_tag")(name, "owner")
tags_after_delete = get_prompt_tags(name)
version_tag = genai.load_prompt(f"prompts:/{name}/1").tags.get("reviewed")

found = sorted(p.name for p in genai.search_prompts())
found_filtered = sorted(p.name for p in genai.search_prompts(filter_string=f"name = '{name}'"))
# Prompts stay out of ordinary model searches.
models = [m.name for m in client.search_registered_models()]

mlflow.set_experiment(f"{name}-runs")
with mlflow.start_run() as run:
    genai.load_prompt(f"prompts:/{name}/2")
linked_tag = client.get_run(run.info.run_id).data.tags.get("mlflow.linkedPrompts")

genai.delete_prompt_alias(name, "production")
try:
    genai.load_prompt(f"prompts:/{name}@production")
    alias_gone = False
except MlflowException:
    alias_gone = True

missing = missing_message = None
try:
    genai.load_prompt(f"prompts:/{name}-nope/1")
except MlflowException as e:
    # 3.1 re-raises the server's error with its code in the message (and INTERNAL_ERROR as the code).
    missing, missing_message = e.error_code, e.message

print(json.dumps({
    "mlflow_version": mlflow.__version__,
    "versions": [v1.version, v2.version, chat.version],
    "v1_template": by_version.template,
    "v1_formatted": by_version.format(name="Ann"),
    "alias_moved": [by_alias_before, by_alias.version],
    "alias_formatted": by_alias.format(name="Ann", place="Oslo"),
    "alias_variables": sorted(by_alias.variables),
    "latest": latest.version,
    "commit_message": by_alias.commit_message,
    "chat_formatted": genai.load_prompt(f"prompts:/{name}-chat/1").format(topic="maps", question="Where is Oslo?"),
    "prompt_tags": {k: v for k, v in prompt_tags.items() if not k.startswith("mlflow.")},
    "tags_after_delete": {k: v for k, v in tags_after_delete.items() if not k.startswith("mlflow.")},
    "version_tag": version_tag,
    "found": found,
    "found_filtered": found_filtered,
    "models": models,
    "linked_to_run": json.loads(linked_tag) if linked_tag else None,
    "alias_gone": alias_gone,
    "missing": missing,
    "missing_message": missing_message,
}))
