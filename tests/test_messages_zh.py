"""The libraries' English, as SpiffWorkflow 3.2.0, its BPMN XSD and lxml word it, said in Chinese:
each known message to a message that says what to change, anything else to a Chinese fallback
that names the kind of problem — never the English itself."""
import re

import pytest
from lxml import etree

from app.engine import messages_zh
from app.engine.definitions import DefinitionError, parse_xml

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("english, chinese", [
    ('No DMN Diagram available with id "approve_table", Available DMN ids are: []', "approve_table"),
    ("Process Process_1 is not executable.", "isExecutable"),
    ("Non-default exclusive outgoing sequence flow without condition", "默认流"),
    ("A multiinstance task must specify a cardinality or a loop input data reference.", "loopCardinality"),
    ("Exactly one start event is required in a SubWorkflow Task; found 0.", "0 个"),
    ("No output task connected.", "开始事件"),
    ("Time Specification Error. Unknown Time Specification.", "定时器"),
    ("未定义的变量：PT1H（Error evaluating expression 'PT1H'.）", "引号"),
])
def test_spiffworkflows_messages_say_what_to_change(english, chinese):
    text = messages_zh.translate_spiff(english)
    assert text and CJK.search(text) and chinese in text
    assert not re.search(r"[A-Za-z]+ [a-z]+ [a-z]+ [a-z]+", text), text


def test_an_unknown_parser_message_falls_back_to_chinese_and_keeps_the_original_as_detail():
    error = messages_zh.parser_error(ValueError("Something entirely new went wrong"))
    assert CJK.search(error["message"]) and "Something" not in error["message"]
    assert error["detail"] == "Something entirely new went wrong"


@pytest.mark.parametrize("english, chinese", [
    ("Element '{http://www.omg.org/spec/BPMN/20100524/MODEL}foo': This element is not expected. Expected is one of "
     "( {http://www.omg.org/spec/BPMN/20100524/MODEL}outgoing, "
     "{http://www.omg.org/spec/BPMN/20100524/MODEL}ioSpecification ).",
     "元素 foo 不应出现在这里（应为 outgoing、ioSpecification）"),
    ("Element '{http://www.omg.org/spec/BPMN/20100524/MODEL}task', attribute 'colour': The attribute 'colour' is not "
     "allowed.", "不允许有属性 colour"),
    ("Element '{http://www.omg.org/spec/BPMN/20100524/MODEL}sequenceFlow': The attribute 'targetRef' is required but "
     "missing.", "缺少必填属性 targetRef"),
    ("Element '{http://www.omg.org/spec/BPMN/20100524/MODEL}task', attribute 'id': '1 task' is not a valid value of "
     "the atomic type 'xs:ID'.", "不是合法的 id"),
    ("Element '{http://x}odd': something no table knows", "不符合 BPMN 2.0 规范"),
])
def test_the_xsds_messages_name_the_element_without_its_namespace(english, chinese):
    text = messages_zh.translate_xsd(english)
    assert chinese in text and "http://" not in text


def test_xsd_violations_come_each_with_its_line_and_element():
    xml = b'''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="http://x">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:task id="t1" colour="red"/>
    <bpmn:task id="t2" shade="dark"/>
  </bpmn:process>
</bpmn:definitions>'''
    from SpiffWorkflow.spiff.parser.process import VALIDATOR
    errors = messages_zh.xsd_errors(VALIDATOR.validator, parse_xml(xml))
    assert [(e["element_id"], e["line"]) for e in errors] == [("t1", 4), ("t2", 5)]
    assert errors[0]["message"] == "第 4 行：元素 task 不允许有属性 colour：请删除它"


def test_an_xml_syntax_error_gives_every_error_of_the_parse_with_lines():
    with pytest.raises(DefinitionError) as caught:
        parse_xml(b'<?xml version="1.0"?>\n<a>\n<b></c>\n</a>')
    first = caught.value.errors[0]
    assert first["line"] == 3 and first["message"].startswith("第 3 行：") and "不匹配" in first["message"]
    assert "mismatch" in first["detail"]


def test_every_known_lxml_wording_is_translated():
    for message in ["Opening and ending tag mismatch: a line 1 and b", "Premature end of data in tag a line 1",
                    "Char 0x0 out of allowed range", "Input is not proper UTF-8, indicate encoding !",
                    "Extra content at the end of the document", "Document is empty", "xmlParseEntityRef: no name",
                    "Unsupported encoding: KLINGON", "Namespace prefix bpmn on definitions is not defined"]:
        text = messages_zh.translate_xml_syntax(message)
        assert CJK.search(text) and "XML 格式错误" not in text, (message, text)
    assert "XML 格式错误" in messages_zh.translate_xml_syntax("a wording nobody has seen")


def test_annotate_adds_name_and_line_to_any_helpers_error_and_translates_what_is_not_chinese():
    tree = etree.ElementTree(etree.fromstring(b'<r>\n<x id="a" name="\xe5\x8a\x9e\xe7\x90\x86"/>\n</r>'))
    out = messages_zh.annotate([{"element_id": "a", "message": "No start event found"},
                                {"element_id": "a", "message": "No start event found"}], tree)
    assert out == [{"element_id": "a", "message": "流程没有开始事件：请添加一个空开始事件", "detail": "No start event found",
                    "name": "办理", "line": 2}]
