// 审计 page (app/templates/audit.html): the count of matching events follows the filters; 导出 reads
// the export's body as it streams, showing the events (CSV, JSON Lines: records counted as they
// arrive against X-Total-Count) or the bytes (XLSX: against Content-Length) received, then saves
// it; 校验哈希链 shows what /audit/verify answers.
(function () {
  "use strict";
  const form = document.getElementById("audit-filters");
  if (!form) return;
  const countEl = document.getElementById("match-count");
  const button = document.getElementById("export");
  const bar = document.getElementById("export-progress");
  const status = document.getElementById("export-status");
  const NEWLINE = 0x0a, QUOTE = 0x22;

  function query() {
    const params = new URLSearchParams();
    for (const [key, value] of new FormData(form)) if (value) params.set(key, value);
    return params;
  }

  function size(bytes) {
    if (bytes < 1024) return bytes + " B";
    if (bytes < 1024 * 1024) return (bytes / 1024).toFixed(1) + " KB";
    return (bytes / 1024 / 1024).toFixed(1) + " MB";
  }

  async function refreshCount() {
    try {
      const response = await fetch(form.dataset.countUrl + "?" + query(), {credentials: "same-origin"});
      const body = await response.json();
      countEl.textContent = response.ok ? body.count : "—";
    } catch (e) {
      countEl.textContent = "—";
    }
  }
  let typing = null;
  form.addEventListener("change", refreshCount);
  form.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(refreshCount, 300);
  });

  // Records end at a newline outside quotes (a CSV field may hold newlines; JSON Lines escape theirs).
  // Both bytes are ASCII, never part of a multi-byte UTF-8 character, so the raw chunks are scanned.
  function counter(quoted) {
    let inQuotes = false, records = 0;
    return {
      add(bytes) {
        for (let i = 0; i < bytes.length; i++) {
          const b = bytes[i];
          if (b === QUOTE && quoted) inQuotes = !inQuotes;
          else if (b === NEWLINE && !inQuotes) records++;
        }
      },
      get records() { return records; },
    };
  }

  function show(done, total, text) {
    bar.hidden = false;
    bar.max = Math.max(total, done, 1);
    bar.value = done;
    status.textContent = text;
  }

  function save(blob, filename) {
    const url = URL.createObjectURL(blob);
    const link = document.createElement("a");
    link.href = url;
    link.download = filename;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  }

  button.addEventListener("click", async () => {
    const params = query();
    const format = params.get("format") || "csv";
    let filename = "audit." + format;
    button.disabled = true;
    bar.removeAttribute("value");      // indeterminate until the first bytes arrive
    bar.hidden = false;
    status.textContent = format === "xlsx" ? "服务器正在生成 XLSX…" : "正在导出…";
    try {
      const response = await fetch(form.dataset.exportUrl + "?" + params, {credentials: "same-origin"});
      if (!response.ok) throw new Error(response.status === 403 ? "无权导出" : "服务器答复 " + response.status);
      // the server names the file by the county's date (a browser's toISOString is UTC's)
      const named = /filename=([^;]+)/.exec(response.headers.get("Content-Disposition") || "");
      if (named) filename = named[1].trim();
      const total = Number(response.headers.get("X-Total-Count") || 0);
      const length = Number(response.headers.get("Content-Length") || 0);
      const records = counter(format === "csv");
      const header = format === "csv" ? 1 : 0;
      const reader = response.body.getReader();
      const chunks = [];
      let received = 0;
      for (;;) {
        const {done, value} = await reader.read();
        if (done) break;
        chunks.push(value);
        received += value.length;
        if (format === "xlsx") {
          show(received, length, `已接收 ${size(received)} / ${size(length)}`);
        } else {
          records.add(value);
          const n = Math.max(0, records.records - header);
          show(n, total, `已导出 ${n} / ${Math.max(n, total)} 条`);
        }
      }
      const exported = format === "xlsx" ? total : Math.max(0, records.records - header);
      show(1, 1, `已导出 ${exported} / ${Math.max(exported, total)} 条（${size(received)}），已保存为 ${filename}`);
      save(new Blob(chunks, {type: response.headers.get("Content-Type") || "application/octet-stream"}), filename);
    } catch (e) {
      bar.hidden = true;
      status.textContent = "导出失败：" + e.message;
    } finally {
      button.disabled = false;
    }
  });

  const verifyButton = document.getElementById("verify");
  const verifyResult = document.getElementById("verify-result");
  verifyButton.addEventListener("click", async () => {
    verifyButton.disabled = true;
    verifyResult.className = "";
    verifyResult.textContent = "正在校验…";
    try {
      const response = await fetch(verifyButton.dataset.url, {credentials: "same-origin"});
      if (!response.ok) throw new Error("服务器答复 " + response.status);
      const result = await response.json();
      if (result.ok) {
        verifyResult.className = "au-ok";
        verifyResult.textContent = `哈希链完整：${result.events_checked} 条留痕事件均已校验，未发现篡改。`;
      } else {
        const bad = result.first_bad_event || {};
        const where = [bad.id != null ? `事件 #${bad.id}` : "", bad.seq != null ? `链序号 ${bad.seq}` : "",
                       bad.at || "", bad.action || ""].filter(Boolean).join("，");
        verifyResult.className = "au-bad";
        verifyResult.textContent = `哈希链不一致（已校验 ${result.events_checked} 条）。第一处：${where}——${bad.reason || ""}`;
      }
    } catch (e) {
      verifyResult.textContent = "校验失败：" + e.message;
    } finally {
      verifyButton.disabled = false;
    }
  });
})();
