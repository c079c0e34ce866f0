"""Every problem a deploy finds, said in Chinese on its element: what lxml's XML parser, the BPMN
XSD validator and SpiffWorkflow's parser and engine report in English is translated here, and
the original kept only as `detail`. `annotate` gives every error with an element id that
element's name and source line, whoever produced the error.

An error is `{element_id?, name?, message, line?, detail?}`; the message says what to change.
"""
import functools
import re

from lxml import etree

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_CJK = re.compile(r"[\u4e00-\u9fff]")


def has_cjk(text):
    return bool(_CJK.search(text or ""))


def _short(qname):
    """`{http://www.omg.org/spec/BPMN/20100524/MODEL}userTask` → `userTask` (another namespace
    keeps its prefix-free local name too: the analyst knows the element by it)."""
    return re.sub(r"\{[^}]*\}", "", qname or "").strip()


def _names(listing):
    return "、".join(_short(n) for n in re.split(r"[,\s]+", listing or "") if _short(n)) or "（无）"


def _at(line):
    return f"第 {line} 行：" if line else ""


# --- lxml's XML syntax errors --------------------------------------------------------------
_SYNTAX = [
    (r"Opening and ending tag mismatch: (\S+) line (\d+) and (\S+)",
     lambda m: f"开始标签 <{m[1]}>（第 {m[2]} 行）与结束标签 </{m[3]}> 不匹配：请检查标签是否成对"),
    (r"Premature end of data in tag (\S+) line (\d+)",
     lambda m: f"文件在标签 <{m[1]}>（第 {m[2]} 行）结束之前就结束了：文件不完整，或缺少结束标签"),
    (r"EndTag: '</' not found|Premature end of data",
     lambda m: "文件不完整：缺少结束标签"),
    (r"Couldn't find end of Start Tag (\S+)",
     lambda m: f"标签 <{m[1]}> 没有正确结束（缺少 > 或属性写法有误）"),
    (r"expected '>'|attributes construct error|AttValue: \" or ' expected|Specification mandates value",
     lambda m: "标签或属性写法有误：属性值应放在引号中，标签以 > 结束"),
    (r"Attribute (\S+) redefined",
     lambda m: f"属性 {m[1]} 重复出现：每个属性只能写一次"),
    (r"invalid character in attribute value|AttValue: \" or ' expected",
     lambda m: "属性值写法有误：属性值应放在引号中，且不能含控制字符"),
    (r"(?:Char 0x[0-9A-Fa-f]+ out of allowed range|PCDATA invalid Char value \d+|invalid character|"
     r"xmlParseCharRef: invalid xmlChar value \d+)",
     lambda m: "含有 XML 不允许的字符（控制字符等）：请删除它"),
    (r"Input is not proper UTF-8|Invalid bytes in character encoding|"
     r"Document labelled UTF-16 but has UTF-8 content|Bytes: 0x|encoder error|input conversion failed",
     lambda m: "文件内容与 XML 声明的编码不符：请按声明的编码保存，或把声明改为文件实际的编码（如 UTF-8、GBK）"),
    (r"Unsupported encoding:? ?(\S*)|unknown encoding:? ?(\S*)",
     lambda m: f"不支持 XML 声明中的编码 {m[1] or m[2] or ''}：请改用 UTF-8、GBK、GB18030 或 UTF-16"),
    (r"Namespace prefix (\S+) (?:for \S+ )?on (\S+) is not defined",
     lambda m: f"元素 {m[2]} 使用的命名空间前缀 {m[1]} 没有声明：请在根元素上声明 xmlns:{m[1]}"),
    (r"Extra content at the end of the document",
     lambda m: "根元素结束之后还有内容：一个文件只能有一个根元素（bpmn:definitions）"),
    (r"Document is empty|Start tag expected, '<' not found",
     lambda m: "文件是空的，或不是 XML：请上传 BPMN 2.0 XML 文件"),
    (r"StartTag: invalid element name|invalid element name",
     lambda m: "元素名无效：< 之后应为元素名（文本中的 < 应写作 &lt;）"),
    (r"xmlParseEntityRef: no name|EntityRef: expecting ';'",
     lambda m: "文本中的 & 应写作 &amp;"),
    (r"Entity '(\S+)' not defined",
     lambda m: f"实体 &{m[1]}; 没有定义：BPMN 文件中只能使用 XML 自带的实体（&amp; &lt; &gt; &quot; &apos;）"),
    (r"XML declaration allowed only at the start|Blank needed here|parsing XML declaration",
     lambda m: "XML 声明有误：<?xml ...?> 必须位于文件最开头"),
    (r"Comment not terminated|Comment must not contain",
     lambda m: "注释没有正确结束（应以 --> 结束，且中间不能有 --）"),
    (r"CData section not finished",
     lambda m: "CDATA 段没有正确结束（应以 ]]> 结束）"),
]


def xml_syntax_errors(exc, log=None):
    """The errors of an lxml XMLSyntaxError (or of the ValueError/LookupError lxml raises for an
    encoding it cannot use), each with its line. `log`: the parser's own error log (the
    exception's may hold earlier parses' entries of the same thread)."""
    entries = []
    for entry in (log or []):
        if entry.level_name in ("ERROR", "FATAL"):
            entries.append((entry.message, entry.line))
    if not entries:
        entries.append((str(exc), getattr(exc, "lineno", None) or (exc.position[0] if getattr(exc, "position", None)
                                                                   else None)))
    out, seen = [], set()
    for message, line in entries[:20]:
        text = translate_xml_syntax(message)
        if (text, line) in seen:
            continue
        seen.add((text, line))
        out.append({"message": _at(line) + text, "line": line or None, "detail": message.strip()})
    return out


def translate_xml_syntax(message):
    for pattern, build in _SYNTAX:
        m = re.search(pattern, message or "")
        if m:
            return build(m)
    return "XML 格式错误：文件无法按 XML 读取；请在建模器中打开并重新保存，或检查该行的标签与引号"


# --- the BPMN XSD validator -----------------------------------------------------------------
_XSD = [
    (r"Element '([^']+)': This element is not expected\. Expected is(?: one of)? \(\s*(.*?)\s*\)",
     lambda m: f"元素 {_short(m[1])} 不应出现在这里（应为 {_names(m[2])}）：请检查它的位置与顺序"),
    (r"Element '([^']+)': This element is not expected",
     lambda m: f"元素 {_short(m[1])} 不应出现在这里：BPMN 2.0 不允许它位于此处"),
    (r"Element '([^']+)': Missing child element\(s\)\. Expected is(?: one of)? \(\s*(.*?)\s*\)",
     lambda m: f"元素 {_short(m[1])} 缺少子元素（应有 {_names(m[2])}）"),
    (r"Element '([^']+)', attribute '([^']+)': The attribute '[^']+' is not allowed",
     lambda m: f"元素 {_short(m[1])} 不允许有属性 {_short(m[2])}：请删除它"),
    (r"Element '([^']+)': The attribute '([^']+)' is required but missing",
     lambda m: f"元素 {_short(m[1])} 缺少必填属性 {_short(m[2])}"),
    (r"Element '([^']+)', attribute '([^']+)': \[facet 'enumeration'\] The value '([^']*)' is not an element "
     r"of the set \{(.*)\}",
     lambda m: f"元素 {_short(m[1])} 的属性 {_short(m[2])} 取值“{m[3]}”无效（应为 {m[4]} 之一）"),
    (r"Element '([^']+)': \[facet 'enumeration'\] The value '([^']*)' is not an element of the set \{(.*)\}",
     lambda m: f"元素 {_short(m[1])} 的取值“{m[2]}”无效（应为 {m[3]} 之一）"),
    (r"Element '([^']+)', attribute '([^']+)': '([^']*)' is not a valid value of the atomic type 'xs:ID'",
     lambda m: f"元素 {_short(m[1])} 的 {_short(m[2])}“{m[3]}”不是合法的 id：id 须以字母或下划线开头，"
               "只含字母、数字、_ - .，不能含空格或中文标点"),
    (r"Element '([^']+)', attribute '([^']+)': '([^']*)' is not a valid value of the atomic type '([^']+)'",
     lambda m: f"元素 {_short(m[1])} 的属性 {_short(m[2])} 取值“{m[3]}”无效（应为 {_short(m[4])} 类型）"),
    (r"Element '([^']+)': '([^']*)' is not a valid value of the atomic type '([^']+)'",
     lambda m: f"元素 {_short(m[1])} 的内容“{m[2]}”无效（应为 {_short(m[3])} 类型）"),
    (r"Element '([^']+)': Character content other than whitespace is not allowed",
     lambda m: f"元素 {_short(m[1])} 中不能直接写文字：请把文字放进相应的子元素或删除"),
    (r"Element '([^']+)'(?:, attribute '[^']+')?: Duplicate key-sequence \['([^']*)'\]",
     lambda m: f"id“{m[2]}”重复：每个元素的 id 必须唯一"),
    (r"Element '([^']+)'(?:, attribute '[^']+')?: No match found for key-sequence \['([^']*)'\]",
     lambda m: f"元素 {_short(m[1])} 引用的“{m[2]}”不存在：请检查引用的 id"),
    (r"Element '([^']+)'(?:, attribute '([^']+)')?: 'xsi:type' attribute|The QName value '([^']+)'",
     lambda m: f"元素 {_short(m[1])} 的类型声明（xsi:type 或 QName）无效：请检查命名空间前缀"),
    (r"No matching global declaration available for the validation root",
     lambda m: "根元素不是 BPMN 2.0 的 definitions：请上传 BPMN 2.0 XML 文件"),
    (r"Element '([^']+)'",
     lambda m: f"元素 {_short(m[1])} 不符合 BPMN 2.0 规范：请在建模器中打开并修正后重新保存"),
]


def translate_xsd(message):
    for pattern, build in _XSD:
        m = re.search(pattern, message or "")
        if m:
            return build(m)
    return "文件不符合 BPMN 2.0 规范：请在建模器中打开并修正后重新保存"


def xsd_errors(schema, tree):
    """Every violation of the BPMN XSD in `tree` (an lxml XMLSchema), each on the element at its
    line when there is one. Returns [] for a valid document."""
    if schema.validate(tree):
        return []
    out, seen = [], set()
    for entry in list(schema.error_log)[:50]:
        element_id = element_at_line(tree, entry.line)
        text = translate_xsd(entry.message)
        if (text, entry.line) in seen:
            continue
        seen.add((text, entry.line))
        out.append({"element_id": element_id, "message": _at(entry.line) + text, "line": entry.line or None,
                    "detail": entry.message.strip()})
    return out


def element_at_line(tree, line):
    """The id of the element a line of the document is in: the last element starting on or before
    that line, or its nearest ancestor with an id."""
    if not line:
        return None
    found = None
    for el in tree.getroot().iter():
        if not isinstance(el.tag, str) or el.sourceline is None:
            continue
        if el.sourceline > line:
            break
        found = el
    while found is not None and not found.get("id"):
        found = found.getparent()
    return found.get("id") if found is not None else None


# --- SpiffWorkflow's parser and engine ---------------------------------------------------------
_SPIFF = [
    (r"未定义的变量：([^（\s]+)",
     lambda m: f"表达式中的“{m[1]}”没有定义：定时器时长等文字值要加引号（如 \"PT1H\"），变量须先由表单或脚本赋值"),
    (r"Process (\S+) is not executable", lambda m: f"流程 {m[1]} 未设为可执行（isExecutable=\"true\"）"),
    (r"No start event found", lambda m: "流程没有开始事件：请添加一个空开始事件"),
    (r"Exactly one start event is required in a SubWorkflow Task; found (\d+)",
     lambda m: f"子流程应当恰好有一个开始事件（现有 {m[1]} 个）"),
    (r"A SubWorkflow Must contain an End event", lambda m: "子流程没有结束事件：请添加结束事件"),
    (r"No \"calledElement\" attribute for Call Activity", lambda m: "调用活动没有指定被调用的流程（calledElement）"),
    (r"Non-default exclusive outgoing sequence flow without condition",
     lambda m: "排他网关的出口流既没有条件也不是默认流：请给它写条件，或设为默认流"),
    (r"Invalid Script Task\.\s+No Script Provided", lambda m: "脚本任务没有脚本：请填写脚本，或改为其他任务类型"),
    (r"A Service Task must have an operator", lambda m: "服务任务没有指定要调用的操作"),
    (r"Multiple outgoing flows are not supported for tasks of type",
     lambda m: "这类任务不能有多条出口流：请在任务后加一个网关来分支"),
    (r"A loopMaximum or loopCondition must be specified for Loop Tasks",
     lambda m: "循环任务应指定最大次数（loopMaximum）或循环条件（loopCondition）"),
    (r"A multiinstance task must specify exactly one of cardinality or loop input data reference",
     lambda m: "多实例任务只能在“实例数量”和“输入集合”中二选一"),
    (r"A multiinstance task must specify a cardinality or a loop input data reference",
     lambda m: "多实例任务应指定实例数量（loopCardinality）或输入集合（loopDataInputRef）"),
    (r"The loop (input|output) data reference is missing from the IO specification",
     lambda m: f"多实例的{'输入' if m[1] == 'input' else '输出'}集合没有在数据输入输出中声明"),
    (r"Cancel Events may only be used with transactions", lambda m: "取消事件只能用于事务子流程"),
    (r"Conditional event definition with missing condition", lambda m: "条件事件没有条件：请填写条件"),
    (r"Unknown Time Specification", lambda m: "定时器没有指定时间：请填写时间点、时长或周期之一"),
    (r"Time Specification Error", lambda m: "定时器的时间写法无效：时长如 \"PT1H\"，时间点如 \"2030-01-01T09:00:00+08:00\""),
    (r"Cannot resolve data(Input|Output)Association (<Element \S+ at|)(\S*)",
     lambda m: "数据关联引用的数据对象不存在或无法解析：请检查该任务的数据输入输出" if m[2] or not m[3]
     else f"数据关联引用的“{m[3]}”不存在：请检查数据对象"),
    (r"Data Store with name (.+) has no implementation",
     lambda m: f"数据存储“{m[1].rstrip('.')}”无法使用：呼应没有这个数据存储；请删除它或改用表单字段"),
    (r"Data Store (identifier|name) is missing", lambda m: "数据存储定义缺少 id 或名称"),
    (r"Could not find messageRef from message event definition",
     lambda m: "消息事件引用的消息不存在：请检查消息（messageRef）"),
    (r"Expected an? (error|Error) node", lambda m: "错误事件引用的错误定义不存在：请检查 errorRef"),
    (r"Expected an? (Escalation|escalation) node", lambda m: "升级事件引用的升级定义不存在：请检查 escalationRef"),
    (r"Expected an? (Message|message) node", lambda m: "消息事件引用的消息不存在：请检查 messageRef"),
    (r"Expected an? (Signal|signal) node", lambda m: "信号事件引用的信号不存在：请检查 signalRef"),
    (r"(Message|Signal|Error|Escalation|Correlation|Data Store) identifier is missing",
     lambda m: f"{_KINDS.get(m[1], m[1])}定义缺少 id"),
    (r"Duplicate process ID: (\S+)", lambda m: f"流程 id {m[1]} 重复：每个流程的 id 必须唯一"),
    (r"The process '([^']+)' was not found", lambda m: f"文件中没有流程 {m[1]}"),
    (r"There is no support implemented for this task type", lambda m: "这种元素类型无法执行：请改用用户任务、脚本任务或网关"),
    (r"Ad hoc subprocesses|ad hoc subprocesses", lambda m: "自由子流程（adHocSubProcess）无法执行：请改用内嵌子流程"),
    (r"we found two items, perhaps a form has the same ID",
     lambda m: "有两个元素使用同一个 id：每个元素的 id 必须唯一"),
    (r"No DMN Diagram available with id \"?([^\",]+)\"?",
     lambda m: f"业务规则任务引用的决策表 {m[1]} 不存在：请把含该决策的 .dmn 文件与流程一起上传（.zip）"),
    (r"No output task connected", lambda m: "流程的开始事件后没有任何元素相连：请检查开始事件及其出口流"),
    (r"The subprocess '([^']+)' was not found", lambda m: f"找不到子流程 {m[1]}：请一起上传被调用的流程"),
    (r"name '([^']+)' is not defined|Unknown name|未定义的名称",
     lambda m: f"表达式中的“{m[1] if m.lastindex else ''}”没有定义：定时器时长等文字值要加引号，如 \"PT1H\"；变量须先由表单或脚本赋值"),
    (r"'NoneType' object", lambda m: "表达式用到的变量还没有值：请先由表单或脚本为它赋值"),
    (r"If the input is not being updated in place, the output must be empty or it must be a map",
     lambda m: "多实例的输出集合在再次进入前应为空：请在回退路径上清空它"),
    (r"Unable to evaluate|Error evaluating expression", lambda m: "表达式无法计算：请检查它用到的变量"),
]
_KINDS = {"Message": "消息", "Signal": "信号", "Error": "错误", "Escalation": "升级", "Correlation": "关联",
          "Data Store": "数据存储"}


def translate_spiff(message):
    """SpiffWorkflow's (English) message in Chinese; a message already in Chinese is kept."""
    text = (message or "").strip()
    for pattern, build in _SPIFF:
        m = re.search(pattern, text)
        if m:
            return build(m)
    return text if has_cjk(text) else None


def parser_error(exc, tree=None):
    """The error of a SpiffWorkflow ValidationException (or of anything its parser raised), on
    its element when the exception names one."""
    original = _first_line(exc)
    element_id = getattr(exc, "id", None) or None
    line = getattr(exc, "line_number", None) or None
    if element_id is None and tree is not None and isinstance(line, int):
        element_id = element_at_line(tree, line)
    if getattr(exc, "tag", None) is None and line and "Element '" in original:   # the XSD's, raised once
        text = _at(line) + translate_xsd(original)
    else:
        text = translate_spiff(original) or ("BPMN 结构有误，呼应无法读取这个元素：请在建模器中检查它的设置"
                                             if element_id else "BPMN 结构有误，呼应无法读取这个文件：请在建模器中打开并检查后重新保存")
    missing = re.search(r"The process '([^']+)' was not found", original)
    if missing and tree is not None:
        caller = next((el for el in tree.getroot().iter("{%s}callActivity" % BPMN_NS)
                       if el.get("calledElement") == missing[1]), None)
        if caller is not None:
            element_id, line = caller.get("id"), None
            text = f"调用活动调用的流程 {missing[1]} 不在这个文件中：请把它与调用它的流程一起上传（.zip），或先部署它"
    store = re.search(r"Data Store with name (.+) has no implementation", original)
    if store and tree is not None and element_id is None:
        name = store[1].rstrip(".")
        element_id = next((el.get("id") for el in tree.getroot().iter() if isinstance(el.tag, str)
                           and el.get("name") == name and el.get("id")), None)
    error = {"element_id": element_id, "message": text, "detail": original}
    if isinstance(line, int):
        error["line"] = line
    return error


def engine_error(message, element_id=None, label=None):
    """What a dry run of a new case met, as a deploy error."""
    where = f"“{label}”" if label else "这个流程"
    text = translate_spiff(message)
    if text is None:
        text = "流程运行时出错，案件无法开始"
    error = {"element_id": element_id,
             "message": f"试运行新案件时{where}出错：{text}（部署后每个案件都会在这里停住，请先修正）"}
    if (message or "").strip() and message.strip() not in error["message"]:
        error["detail"] = message.strip()[:500]
    return error


def _first_line(e):
    text = str(e).strip()
    return text.splitlines()[0][:500] if text else type(e).__name__


# --- which process to deploy -------------------------------------------------------------------
def process_choice(root, process_id=None):
    """Why no process (or not `process_id`) can be taken from the document, naming the pools and
    processes it has: one error on each process (so that the modeller marks every pool), or one on
    the document when it has none."""
    processes = root.findall("{%s}process" % BPMN_NS)
    pools = {p.get("processRef"): p.get("name") for p in root.iter("{%s}participant" % BPMN_NS)
             if p.get("processRef")}

    def label(p):
        pid = p.get("id")
        name = p.get("name") or pools.get(pid)
        flag = "可执行" if p.get("isExecutable") == "true" else "未设为可执行"
        return f"{pid}{f'（{name}）' if name else ''}，{flag}"

    found = "；".join(label(p) for p in processes)
    if not processes:
        pools_only = "、".join(n or "未命名" for n in pools.values())
        return [{"message": "文件中没有可部署的流程：" + (f"只有泳池 {pools_only}，没有流程内容；" if pools_only
                                                     else "没有任何流程（bpmn:process）；") + "请在建模器中画出流程后再上传",
                 "line": root.sourceline}]
    if process_id is not None:
        return [{"message": f"文件中没有流程 {process_id}：文件中的流程为 {found}", "line": root.sourceline}]
    return [{"element_id": p.get("id"),
             "message": f"流程 {label(p)}：文件中没有可执行的流程（文件中的流程为 {found}）。请把要部署的流程（泳池）设为可执行"
                        "（isExecutable=\"true\"，建模器中勾选“可执行”）"} for p in processes]


# --- the post-pass ----------------------------------------------------------------------------
def annotate(errors, tree):
    """Each error with an element id gets that element's name and source line; each message not
    in Chinese is translated (the original becomes `detail`); repeats are dropped."""
    nodes = {}
    if tree is not None:
        for el in tree.getroot().iter():
            if isinstance(el.tag, str) and el.get("id") and el.get("id") not in nodes:
                nodes[el.get("id")] = el
    out, seen = [], set()
    for error in errors:
        error = dict(error)
        message = error.get("message") or ""
        if not has_cjk(message):
            text = translate_xsd(message) if "Element '" in message else translate_spiff(message)
            error["message"] = text or "流程无法部署：呼应读取它时出错；请在建模器中检查这个元素"
            error.setdefault("detail", message)
        node = nodes.get(error.get("element_id") or "")
        if node is not None:
            if node.get("name") and "name" not in error:
                error["name"] = node.get("name")
            if node.sourceline and not error.get("line"):
                error["line"] = node.sourceline
        elif error.get("element_id") is None and error.get("line") and tree is not None:
            found = element_at_line(tree, error["line"])
            if found:
                error["element_id"] = found
                if nodes.get(found) is not None and nodes[found].get("name"):
                    error["name"] = nodes[found].get("name")
        key = (error.get("element_id"), error["message"])
        if key in seen:
            continue
        seen.add(key)
        out.append({k: v for k, v in error.items() if v is not None or k == "element_id"})
    return out


def annotated(load):
    """Decorate load_definition: the errors it raises come out through `annotate`, on the tree of
    the document it was given."""
    @functools.wraps(load)
    def wrapper(bpmn, *args, **kwargs):
        from .definitions import DefinitionError, parse_xml
        try:
            return load(bpmn, *args, **kwargs)
        except DefinitionError as e:
            try:
                tree = parse_xml(bpmn)
            except DefinitionError:
                tree = None
            raise DefinitionError(annotate(e.errors, tree)) from None
    return wrapper


def element_ids(tree):
    """The ids of a document's elements, but its processes (what a new version shares with the old)."""
    skip = {"process", "definitions", "collaboration", "participant"}
    return {el.get("id") for el in tree.getroot().iter()
            if isinstance(el.tag, str) and el.get("id") and etree.QName(el).localname not in skip
            and not el.tag.startswith("{http://www.omg.org/spec/BPMN/20100524/DI}")
            and not el.tag.startswith("{http://www.omg.org/spec/DD/")}


def unrelated_version(process_id, name, version):
    """Why an upload under an existing process id is not taken as its next version unasked."""
    return (f"流程 id {process_id} 已属于已部署的流程“{name}”（第 {version} 版），而上传的文件与它没有任何相同的元素："
            f"部署会用它替换“{name}”，成为第 {version + 1} 版。bpmn.io 和 Camunda Modeler 新建的每个流程 id 都是 Process_1，"
            "请确认：如确是它的新版本，请勾选“作为新版本部署”（new_version=true）再上传；否则请修改流程 id。")
