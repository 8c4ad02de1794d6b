-- The Jinja-subset interpreter on its own: syntax, whitespace control,
-- expressions, filters, tests, methods, errors. Expected strings were
-- checked against Jinja2 3.1 (Python) with trim_blocks and lstrip_blocks on,
-- except where a comment says the subset differs on purpose.
local jinja = require("luallm.jinja")

local HF = { trim_blocks = true, lstrip_blocks = true }

local function r(src, vars, opts)
  local out, err = jinja.render(src, vars or {}, opts or HF)
  if not out then error(err, 2) end
  return out
end

describe("luallm.jinja", function()
  describe("syntax", function()
    it("prints text, expressions and drops comments", function()
      assert.are.equal("a 3 b", r("a {{ 1 + 2 }} {# gone #}b"))
      assert.are.equal("x", r("{# a\nmulti-line comment #}x"))
    end)

    it("strips whitespace with '-' on either side of every tag kind", function()
      assert.are.equal("AB   C D E", r("{%- if true -%}  A  {%- endif -%}  B  {# c #} C {{- ' D ' -}} E"))
      assert.are.equal("12", r("{% for x in [1, 2] -%}\n  {{ x }}\n{%- endfor %}", {}, {}))
    end)

    it("applies trim_blocks and lstrip_blocks as Hugging Face does", function()
      local src = "  {% if true %}\n    indented\n  {% endif %}\nend\n{% for x in [1,2] %}\n  - {{ x }}\n{% endfor %}\n"
        .. "  {%+ if true %}keep{% endif +%}\nlast\n  {# only comment #}\nx\n"
      assert.are.equal("    indented\nend\n  - 1\n  - 2\n  keep\nlast\nx", r(src))
      -- without the options, the tags leave their lines behind
      assert.are.equal("  \n    indented\n  \nend", r("  {% if true %}\n    indented\n  {% endif %}\nend", {}, {}))
    end)

    it("drops one trailing newline unless keep_trailing_newline", function()
      assert.are.equal("a", r("a\n"))
      assert.are.equal("a\n", r("a\n", {}, { keep_trailing_newline = true }))
    end)

    it("keeps raw blocks verbatim", function()
      assert.are.equal("{{ not parsed }}", r("{% raw %}{{ not parsed }}{% endraw %}"))
    end)

    it("parses string escapes and joins adjacent literals", function()
      assert.are.equal("ab|it's|tab\there|é|a\nb", r([[{{ "a" "b" }}|{{ 'it\'s' }}|{{ "tab\there" }}|{{ '\u00e9' }}|{{ 'a\nb' }}]]))
    end)
  end)

  describe("statements", function()
    it("runs if / elif / else", function()
      local src = "{% if x == 1 %}one{% elif x == 2 %}two{% else %}many{% endif %}"
      assert.are.equal("one", r(src, { x = 1 }))
      assert.are.equal("two", r(src, { x = 2 }))
      assert.are.equal("many", r(src, { x = 7 }))
    end)

    it("gives for loops the loop variable", function()
      assert.are.equal("10TrueFalse33,21FalseFalse32,32FalseTrue31,",
        r("{% for x in [1,2,3] %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}"
          .. "{{ loop.length }}{{ loop.revindex }},{% endfor %}"))
      assert.are.equal("1122/1;1324/2;",
        r("{% for a in [[1,2],[3,4]] %}{% for b in a %}{{ loop.index }}{{ b }}{% endfor %}/{{ loop.index }};{% endfor %}"))
    end)

    it("filters loops with if, runs else on empty, unpacks pairs", function()
      assert.are.equal("24|empty", r("{% for x in [1,2,3,4] if x is even %}{{ x }}{% endfor %}|{% for x in [] %}{% else %}empty{% endfor %}"))
      assert.are.equal("a=1;b=2;", r("{% for k, v in d|items %}{{ k }}={{ v }};{% endfor %}", { d = { b = 2, a = 1 } }))
      assert.are.equal("02", r("{% for i in range(10) %}{% if i == 3 %}{% break %}{% endif %}{% if i == 1 %}{% continue %}{% endif %}{{ i }}{% endfor %}"))
    end)

    it("scopes set inside loops, and namespace() carries values out", function()
      assert.are.equal("1", r("{% set y = 1 %}{% for i in [1] %}{% set y = 5 %}{% endfor %}{{ y }}"))
      assert.are.equal("10", r("{% set ns = namespace(n=0) %}{% for i in range(5) %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}"))
      assert.are.equal("BLOCK 2", r("{% set s %}block {{ 1 + 1 }}{% endset %}{{ s|upper }}"))
    end)

    it("defines and calls macros", function()
      assert.are.equal("Hi Bob! Hi Al?",
        r("{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('Bob') }} {{ greet('Al', punct='?') }}"))
    end)
  end)

  describe("expressions", function()
    it("does arithmetic with Python's operators", function()
      assert.are.equal("7|3|1|1024|-2|0.5", r("{{ 1 + 2 * 3 }}|{{ 7 // 2 }}|{{ 7 % 3 }}|{{ 2 ** 10 }}|{{ -3 + 1 }}|{{ 1 / 2 }}"))
      assert.are.equal("a1Nonetrue", r("{{ 'a' ~ 1 ~ none ~ 'true' }}"))
      assert.are.equal("[1, 2, 3]|ababab", r("{{ [1, 2] + [3] }}|{{ 'ab' * 3 }}"))
    end)

    it("compares, chains comparisons, tests membership", function()
      assert.are.equal("True|False|True|True|True|False",
        r("{{ 1 < 2 < 3 }}|{{ 3 > 2 > 5 }}|{{ 'a' in 'cat' }}|{{ 2 not in [1,3] }}|{{ 'k' in {'k': 1} }}|{{ [1] == [2] }}"))
    end)

    it("short-circuits and/or/not and the conditional expression", function()
      assert.are.equal("1||x|False", r("{{ 1 if true else 2 }}|{{ 'a' if false }}|{{ none or 'x' }}|{{ not 'y' }}"))
      assert.are.equal("ok", r("{{ 'ok' if not add_generation_prompt is defined }}"))
    end)

    it("indexes and slices lists and strings, negative indices included", function()
      assert.are.equal("el|o|olleh|[2, 3, 4]|[1, 2]|[1, 3, 5]|z",
        r("{{ 'hello'[1:3] }}|{{ 'hello'[-1] }}|{{ 'hello'[::-1] }}|{{ [1,2,3,4][1:] }}|{{ [1,2,3][:-1] }}"
          .. "|{{ [1,2,3,4,5][::2] }}|{{ 'x</think>y</think>z'.split('</think>')[-1] }}"))
      assert.are.equal("é", r("{{ 'héllo'[1] }}"))
    end)

    it("reads dict keys by attribute or subscript, missing ones undefined", function()
      local m = { role = "user" }
      assert.are.equal("user|user|False|True", r("{{ m.role }}|{{ m['role'] }}|{{ m.tool_calls is defined }}|{{ m['x'] is undefined }}", { m = m }))
    end)

    it("builds list and dict literals", function()
      assert.are.equal("[1, 'b', None]|{'a': 1}", r("{{ [1, 'b', none] }}|{{ {'a': 1} }}"))
    end)
  end)

  describe("string methods", function()
    it("split, strip, startswith, endswith, replace, case", function()
      assert.are.equal("['x', 'y', '', 'z']|['a', 'b']|['a', 'b c']",
        r("{{ 'x,y,,z'.split(',') }}|{{ '  a b  '.split() }}|{{ 'a b c'.split(' ', 1) }}"))
      assert.are.equal("hi|hi\n|hi|x", r("{{ 'xxhixx'.strip('x') }}|{{ '\n\nhi\n'.lstrip('\n') }}|{{ 'hi\n\n'.rstrip() }}|{{ ' x '.strip() }}"))
      assert.are.equal("True|True|False|a+b|ABC|abc|Hello World",
        r("{{ 'abc'.startswith('ab') }}|{{ 'abc'.endswith('bc') }}|{{ 'abc'.startswith('b') }}|{{ 'a-b'.replace('-', '+') }}"
          .. "|{{ 'abc'.upper() }}|{{ 'ABC'.lower() }}|{{ 'hello world'.title() }}"))
    end)
  end)

  describe("filters", function()
    it("trim, length, upper, lower, replace, default", function()
      assert.are.equal("x|2|5|ABC|abc|bba", r("{{ '  x  '|trim }}|{{ [1,2]|length }}|{{ 'héllo'|length }}|{{ 'abc'|upper }}|{{ 'ABC'|lower }}|{{ 'aaa'|replace('a','b',2) }}"))
      assert.are.equal("d|d|None", r("{{ x|default('d') }}|{{ ''|default('d', true) }}|{{ none|default('d') }}"))
    end)

    it("first, last, join, items, list, string, safe", function()
      assert.are.equal("3|4|1-2|[['a', 1]]|['a', 'b']|10!|<b>",
        r("{{ [3,4]|first }}|{{ [3,4]|last }}|{{ [1,2]|join('-') }}|{{ {'a': 1}|items|list }}|{{ 'ab'|list }}|{{ 10|string + '!' }}|{{ '<b>'|safe }}"))
    end)

    it("select, reject, map, selectattr, sort, unique, sum", function()
      assert.are.equal("[1, 3]|[2]|1,2|1|[1, 2, 3]|[1, 2]|6",
        r("{{ [1,2,3]|select('odd')|list }}|{{ [1,2,3]|reject('odd')|list }}|{{ [{'a':1},{'a':2}]|map(attribute='a')|join(',') }}"
          .. "|{{ [{'a':1,'b':true},{'a':2}]|selectattr('b')|list|length }}|{{ [3,1,2]|sort }}|{{ [1,1,2]|unique }}|{{ [1,2,3]|sum }}"))
    end)

    it("tojson writes Python json.dumps style (sorted keys)", function()
      assert.are.equal('{"a": [1, "x", null, true], "b": {"c": 1.5}}',
        r("{{ {'b': {'c': 1.5}, 'a': [1, 'x', none, true]}|tojson }}"))
      assert.are.equal('"he said \\"hi\\"\\n"', r([[{{ 'he said "hi"\n'|tojson }}]]))
      assert.are.equal("[\n  1,\n  [\n    2\n  ]\n]", r("{{ [1,[2]]|tojson(indent=2) }}"))
      assert.are.equal('{}|[]|"日本"', r("{{ d|tojson }}|{{ [] |tojson }}|{{ '日本'|tojson }}", { d = jinja.dict() }))
    end)
  end)

  describe("tests", function()
    it("defined, none, string, mapping, iterable, number, odd, divisibleby", function()
      assert.are.equal("False|True|True|True|True|True|True|True|True",
        r("{{ x is defined }}|{{ none is none }}|{{ 'a' is string }}|{{ {} is mapping }}|{{ [] is iterable }}"
          .. "|{{ 3 is number }}|{{ 3 is odd }}|{{ 6 is divisibleby 3 }}|{{ 'x' is not none }}"))
      assert.are.equal("True|False", r("{{ m is mapping }}|{{ l is mapping }}", { m = { a = 1 }, l = { 1 } }))
    end)
  end)

  describe("variables and functions from the caller", function()
    it("reads nested Lua tables and json.null as None", function()
      local json = require("luallm.json")
      assert.are.equal("None|True", r("{{ v }}|{{ v is none }}", { v = json.null }))
      assert.are.equal("3", r("{{ a.b[1].c }}", { a = { b = { { c = 1 }, { c = 3 } } } }))
    end)

    it("calls Lua functions with positional arguments", function()
      assert.are.equal("5", r("{{ add(2, 3) }}", { add = function(a, b) return a + b end }))
    end)
  end)

  describe("errors", function()
    local function fails(src, pattern, vars)
      local out, err = jinja.render(src, vars or {}, HF)
      assert.is_nil(out)
      assert.is_string(err)
      assert.truthy(err:match("^jinja: "), err)
      assert.truthy(err:match(pattern), err)
    end

    it("reports syntax errors with their line", function()
      fails("a\n{% if x %}\nb", "missing 'endif'.*at line 3")
      fails("{{ 1 + }}", "at line 1")
      fails("x\n\n{% endfor %}", "unexpected 'endfor' at line 3")
      fails("{{ 'abc }}", "unterminated string at line 1")
      fails("{% frobnicate %}", "unknown statement 'frobnicate'")
    end)

    it("reports runtime errors with their line", function()
      fails("\n{{ 'a' + 1 }}", "cannot add 'string' and 'number' at line 2")
      fails("{{ x.y }}", "x is undefined at line 1")
      fails("{{ m.a.b }}", "m%.a is undefined at line 1", { m = {} })
      fails("{{ 'a' + m['k'] }}", "m%['k'%] is undefined", { m = {} })
      fails("{{ 1 | nosuchfilter }}", "unknown filter 'nosuchfilter'")
      fails("{% set l = [1] %}{% set l.x = 2 %}", "only namespace")
      fails("{{ nope() }}", "'nope' is undefined")
    end)

    it("turns raise_exception(msg) into nil, message", function()
      fails("ok\n{{ raise_exception('Conversation roles must alternate') }}",
        "raise_exception: Conversation roles must alternate at line 2")
    end)

    it("refuses deep nesting and runaway recursion with a message", function()
      fails("{{ " .. string.rep("(", 5000) .. "1" .. string.rep(")", 5000) .. " }}", "nesting too deep")
      fails(string.rep("{% if true %}", 5000) .. string.rep("{% endif %}", 5000), "nesting too deep")
      fails("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "recursion too deep")
    end)

    it("gives nil, message for every truncation of a real template", function()
      local f = assert(io.open((debug.getinfo(1, "S").source:sub(2):match("^(.*)/[^/]*$") or "spec")
        .. "/fixtures/chat/llama3.1.jinja", "rb"))
      local src = f:read("a")
      f:close()
      local vars = { messages = { { role = "user", content = "x" } }, add_generation_prompt = true }
      for cut = 1, #src, 7 do
        local ok, out, err = pcall(jinja.render, src:sub(1, cut), vars, HF)
        assert.is_true(ok)
        assert.is_true(out ~= nil or (type(err) == "string" and err:match("^jinja: ") ~= nil))
      end
    end)

    it("never lets a Lua error escape", function()
      fails("{{ f() }}", "error in called function", { f = function() error("boom") end })
      assert.is_nil((jinja.render(42)))
      assert.is_nil((jinja.compile(nil)))
    end)
  end)
end)
