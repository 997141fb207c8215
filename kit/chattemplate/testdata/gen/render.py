"""render.py renders Qwen3's and Llama 3.1's chat templates with Python's
jinja2, set up as transformers' apply_chat_template sets it up
(ImmutableSandboxedEnvironment with trim_blocks and lstrip_blocks, the
loopcontrols extension, transformers' tojson, raise_exception and
strftime_now), for the conversations below. It writes warm-chat-rendered.json in the temp directory, which
tokenize.js completes with token ids into ../conversations.json.

    python3 kit/chattemplate/testdata/gen/render.py     (from the repository root; needs jinja2 3.x)
"""
import json
import os
import sys
import tempfile
from datetime import datetime

import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))
TOKDATA = os.path.join(HERE, "..", "..", "..", "tokenizer", "testdata")


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def strftime_now(fmt):
    return datetime.now().strftime(fmt)


env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception
env.globals["strftime_now"] = strftime_now


def u(c):
    return {"role": "user", "content": c}


def a(c):
    return {"role": "assistant", "content": c}


def s(c):
    return {"role": "system", "content": c}


CODE = "def add(a, b):\n    return a+b\n"
CONVERSATIONS = [
    [u("Hello!")],
    [u("What is 2+2?"), a("4")],
    [s("You are a helpful assistant."), u("What is 2+2?"), a("2+2 equals 4.")],
    [u("Hi"), a("Hello! How can I help?"), u("Tell me a joke."), a("Why did the chicken cross the road?")],
    [u("Write add in Python."), a("    return a+b")],
    [u("Indent?"), a("\t\tdeep tab\n\tless")],
    [u("Newlines first"), a("\n\nHello after two newlines")],
    [u("Spaces and newlines"), a(" \n  mixed start")],
    [u("Think first"), a("<think>\nLet me add 2 and 2.\n</think>\n\nThe answer is 4.")],
    [u("q1"), a("<think>r1</think>a1"), u("q2"), a("<think>\nr2\n</think>\n\na2")],
    [u("q1"), a("<think>old reasoning</think>\n\nold answer"), u("q2"), a("new answer without think")],
    [u("Trailing whitespace"), a("answer\n\n")],
    [u("  user with leading spaces  "), a("  assistant with both  ")],
    [u("Special text: <|im_start|>system\n<|im_end|> and <|eot_id|>"), a("<|begin_of_text|> is just text here")],
    [u("日本語で答えてください。"), a("はい、わかりました。😀 Привет! café")],
    [u("Empty answer"), a("")],
    [s("sys"), u("first"), a("one"), u("second"), a("two"), u("third"), a("three")],
    [s("Rule 1.\n\nRule 2."), u("Code:\n" + CODE), a("```python\n" + CODE + "```")],
    [u("CRLF\r\ntext"), a("line1\r\nline2\r\n")],
    [u("Jinja-looking text {{ x }} {% if %}"), a("{# not a comment #} stays")],
    [s("one"), u("a"), s("two"), u("b"), a("c")],
    [u("only </think> in answer"), a("before</think>after")],
    [u("Digits 1234567 and 3.14159"), a("Sum: 1,234,570.14159")],
    [u("Tabs\tand\u00a0nbsp"), a("\u3000ideographic space start")],
    [u("Question?"), a("<think>\n\n</think>\n\nAlready has an empty think block.")],
    [u("Weather?"), a("Checking."), {"role": "tool", "content": "sunny"}, {"role": "tool", "content": "22C"}, a("Sunny, 22C.")],
    [u("q"), a("<think>t1</think>a1"), u("<tool_response>\nresult\n</tool_response>"), a("<think>t2</think>a2")],
]

WITH_PROMPT = [  # rendered with add_generation_prompt=True
    [u("Hello!")],
    [s("Be brief."), u("Hi"), a("Hey."), u("Bye")],
]


# A template written here in the style of Llama 3.1 Instruct's (a system
# header with knowledge and today's dates, system message lifted out of the
# list, trimmed turns), to exercise the constructs that template relies on:
# rebinding messages, "not x is defined", dict membership, "is mapping",
# reject/join filters, tojson(indent=...).
INSTRUCT_STYLE = """{{- bos_token }}
{%- if not date_string is defined %}
    {%- set date_string = "26 Jul 2024" %}
{%- endif %}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}
{{- "<|start_header_id|>system<|end_header_id|>\n\n" }}
{%- if builtin_tools is defined %}
    {{- "Tools: " + builtin_tools | reject('equalto', 'code_interpreter') | join(", ") + "\n\n" }}
{%- endif %}
{{- "Cutting Knowledge Date: December 2023\n" }}
{{- "Today Date: " + date_string + "\n\n" }}
{%- if meta is defined %}
    {{- meta | tojson(indent=2) + "\n" }}
{%- endif %}
{{- system_message }}
{{- "<|eot_id|>" }}
{%- for message in messages %}
    {%- if not (message.role == 'tool' or 'tool_calls' in message) %}
        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + message['content'] | trim + '<|eot_id|>' }}
    {%- elif message.content is mapping %}
        {{- message.content | tojson }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}
{%- endif %}
"""


def main():
    out = {}
    for name, tokname in [("qwen3", "qwen3"), ("llama3_1", "llama3_1"), ("instruct_style", "llama3_1")]:
        with open(os.path.join(TOKDATA, tokname, "tokenizer_config.json")) as f:
            cfg = json.load(f)
        source = INSTRUCT_STYLE if name == "instruct_style" else cfg["chat_template"]
        tmpl = env.from_string(source)
        special = {k: cfg[k] for k in ["bos_token", "eos_token", "unk_token", "pad_token"] if cfg.get(k) is not None}
        cases = []
        for msgs in CONVERSATIONS:
            cases.append({"messages": msgs, "add_generation_prompt": False})
        if name == "instruct_style":
            cases.append({"messages": CONVERSATIONS[2], "add_generation_prompt": False,
                          "extra": {"date_string": "01 Dec 2026", "builtin_tools": ["brave_search", "code_interpreter", "wolfram_alpha"],
                                    "meta": {"a": [1, "é", None, True], "b": 1.5}}})
        for msgs in WITH_PROMPT:
            cases.append({"messages": msgs, "add_generation_prompt": True})
            if name == "qwen3":
                cases.append({"messages": msgs, "add_generation_prompt": True, "extra": {"enable_thinking": False}})
        for c in cases:
            c["text"] = tmpl.render(messages=c["messages"], tools=None, documents=None,
                                    add_generation_prompt=c["add_generation_prompt"], **special, **c.get("extra", {}))
        out[name] = {"tokenizer": tokname, "special_tokens": special, "cases": cases}
        if name == "instruct_style":
            out[name]["template"] = source
    with open(os.path.join(tempfile.gettempdir(), "warm-chat-rendered.json"), "w") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
    print("jinja2", jinja2.__version__, {k: len(v["cases"]) for k, v in out.items()}, file=sys.stderr)


main()
