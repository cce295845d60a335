"""The README's examples are real answers: each is replayed against the app."""

import json
import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
EXAMPLE = re.compile(
    r"```http\n\s*(?P<method>[A-Z]+) (?P<path>\S+)\n\s*(?P<body>\{.*?\})\n\s*\n"
    r"\s*HTTP/1\.1 (?P<status>\d{3}) [^\n]*\n\s*(?P<answer>\{.*?\})\n\s*```",
    re.DOTALL,
)


def examples() -> list[re.Match]:
    return list(EXAMPLE.finditer(README.read_text()))


def test_the_readme_shows_a_real_422_with_its_problem_list():
    found = [m for m in examples() if m["status"] == "422"]
    assert found, "the README's error example is gone"
    answer = json.loads(found[0]["answer"])
    assert isinstance(answer["error"], str) and isinstance(answer["detail"], list)
    assert set(answer["detail"][0]) == {"loc", "msg", "type"}


def test_the_openapi_document_describes_422_as_a_list_of_problems(api):
    document = api.http._transport.app.openapi()
    answer = document["paths"]["/api/v1/auth/register"]["post"]["responses"]["422"]
    schema = answer["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/ValidationErrorBody"}
    body = document["components"]["schemas"]["ValidationErrorBody"]
    assert body["properties"]["detail"]["items"] == {"$ref": "#/components/schemas/Problem"}


async def test_each_readme_example_is_what_the_app_answers(api):
    for example in examples():
        response = await api.request(
            example["method"], example["path"], json=json.loads(example["body"])
        )
        assert response.status_code == int(example["status"]), example[0]
        assert response.json() == json.loads(example["answer"]), example[0]
