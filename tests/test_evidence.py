"""Evidence: photos and documents on a call and on a department's reply, seen by whoever may see
the case and by nobody else, checked by their bytes and size, and proved by their SHA-256 in the
dossier, the audit export and `flask huying check` — on both storages (a directory, the database)."""
import hashlib
import io
import json
import os

import pytest
from sqlalchemy import update

from app.extensions import db
from app.models import BlobChunk
from evidence_files import attach, docx, heic, pdf, photo, xls, xlsx
from helpers import accept_and_dispatch, csrf_token, raise_call, web_login


@pytest.fixture(params=["directory", "database"])
def storage(request, app, tmp_path):
    """The storage the test's files go to: a directory of its own, or the app's database."""
    app.config["STORAGE"] = str(tmp_path / "files") if request.param == "directory" else "database"
    app.extensions.pop("huying_storage", None)
    return request.param


def alter_stored(app, storage, sha256):
    """Change the bytes kept for `sha256` behind the app's back, as a tampering administrator would."""
    with app.app_context():
        if storage == "directory":
            path = os.path.join(app.config["STORAGE"], sha256[:2], sha256[2:4], sha256)
            os.chmod(path, 0o644)
            with open(path, "r+b") as f:
                f.seek(100)
                f.write(b"\x00altered\x00")
        else:
            db.session.execute(update(BlobChunk).where(BlobChunk.sha256 == sha256, BlobChunk.seq == 0)
                               .values(data=b"altered"))
            db.session.commit()


def test_call_photos_pdf_and_a_department_reply_photo_are_seen_by_the_centre_and_the_supervisor_only(
        storage, users):
    case_id = raise_call(users)
    street, stalls, report = photo("red"), photo("blue", fmt="PNG"), pdf()
    given = [attach(users["town_a"], case_id, "马路市场全景.jpg", street),
             attach(users["town_a"], case_id, "摊点近景.png", stalls),
             attach(users["town_a"], case_id, "情况说明.pdf", report, note="街道前期处置情况")]
    assert [(a["name"], a["content_type"], a["size"], a["uploaded_by"], a["task_id"]) for a in given] == [
        ("马路市场全景.jpg", "image/jpeg", len(street), "town_a", None),
        ("摊点近景.png", "image/png", len(stalls), "town_a", None),
        ("情况说明.pdf", "application/pdf", len(report), "town_a", None)]
    assert given[0]["sha256"] == hashlib.sha256(street).hexdigest()

    accept_and_dispatch(users, case_id, lead="D01", co=("D02",))
    zf = users["dept_zf"]
    for d in ("dept_zf", "dept_zr"):
        users[d].complete(users[d].task(case_id, "签收"), {"returned": False})
    handling = zf.task(case_id, "办理反馈")
    fixed = photo("green")
    reply_photo = attach(zf, case_id, "整改后.jpg", fixed, task_id=handling["id"])
    assert reply_photo["task_id"] == handling["id"] and reply_photo["uploaded_org"] == "D01"
    zf.complete(handling, {"result": "已取缔马路市场，设立临时便民市场"})

    # a department attaches only to its own step, and only to a step of this case
    zr_task = users["dept_zr"].task(case_id, "办理反馈")
    attach(zf, case_id, "别人的环节.jpg", fixed, expect=403, task_id=zr_task["id"])
    other = raise_call(users, township="town_b", title="另一件呼叫")
    center_task = users["center"].task(other, "受理")
    attach(users["center"], case_id, "错案.jpg", fixed, expect=422, task_id=center_task["id"])

    for who in ("center", "supervisor", "dept_zr", "town_a"):
        listed = users[who].get(f"/cases/{case_id}/attachments").json
        assert [a["name"] for a in listed["items"]] == ["马路市场全景.jpg", "摊点近景.png", "情况说明.pdf", "整改后.jpg"]
        assert listed["total"] == 4
    r = users["supervisor"].get(f"/attachments/{given[2]['id']}")
    assert r.status_code == 200 and r.data == report and r.mimetype == "application/pdf"
    assert r.headers["Content-Disposition"].startswith("attachment; ")
    assert "filename*=UTF-8''%E6%83%85%E5%86%B5%E8%AF%B4%E6%98%8E.pdf" in r.headers["Content-Disposition"]
    assert r.headers["X-Content-Type-Options"] == "nosniff" and "sandbox" in r.headers["Content-Security-Policy"]
    r = users["center"].get(f"/attachments/{reply_photo['id']}")
    assert r.data == fixed and r.mimetype == "image/jpeg" and r.headers["Content-Disposition"].startswith("inline")
    thumb = users["center"].get(f"/attachments/{reply_photo['id']}/thumbnail")
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg" and thumb.data[:3] == b"\xff\xd8\xff"
    assert users["center"].get(f"/attachments/{given[2]['id']}/thumbnail").status_code == 404   # a PDF has none

    # another township and a department not dispatched do not know the files exist
    for who in ("town_b", "dept_hb"):
        assert users[who].get(f"/cases/{case_id}/attachments").status_code == 404
        for a in given + [reply_photo]:
            assert users[who].get(f"/attachments/{a['id']}").status_code == 404
            assert users[who].get(f"/attachments/{a['id']}/thumbnail").status_code == 404
        attach(users[who], case_id, "闯入.jpg", fixed, expect=404)
    attach(users["analyst"], case_id, "旁观.jpg", fixed, expect=403)   # sees the case, takes no part

    events = [e for e in users["supervisor"].get(f"/cases/{case_id}/audit").json if e["action"] == "attachment_added"]
    assert [(e["actor"], e["after"]["name"], e["after"]["sha256"], e["after"]["size"], e["after"]["content_type"])
            for e in events] == [(a["uploaded_by"], a["name"], a["sha256"], a["size"], a["content_type"])
                                 for a in given + [reply_photo]]
    assert events[-1]["task_id"] == handling["id"] and events[-1]["after"]["uploaded_at"] == reply_photo["uploaded_at"]


def test_a_file_whose_bytes_are_not_its_claimed_type_or_too_big_is_refused_and_leaves_nothing(app, users):
    case_id = raise_call(users)
    town = users["town_a"]
    for name, content, says in [
            ("现场照片.jpg", pdf(), "与其扩展名不符"),                              # a PDF named as a photo
            ("情况说明.pdf", b"<html><script>alert(1)</script></html>", "不是可接受的文件类型"),
            ("台账.xlsx", docx(), "与其扩展名不符"),                                 # a Word document as a sheet
            ("说明.docx", b"PK\x03\x04 not really a zip", "不是可接受的文件类型"),
            ("page.html", b"<html></html>", "不支持的文件类型"),
            ("run.exe", b"MZ\x90\x00", "不支持的文件类型"),
            ("情况说明.doc", xls(), "与其扩展名不符"),                               # a workbook as a Word file
            ("空.png", b"", "空文件")]:
        refused = attach(town, case_id, name, content, expect=422)
        assert says in refused["message"], (name, refused)
    accepted = [("现场.webp", photo(fmt="WEBP")), ("现场.heic", heic()), ("说明.docx", docx()),
                ("台账.xlsx", xlsx()), ("台账.xls", xls()), ("台账.et", xls())]
    for name, content in accepted:
        attach(town, case_id, name, content)

    app.config["UPLOAD_MAX_BYTES"] = 100_000
    big = pdf() + b"%" + b"0" * 150_000            # a real PDF, padded past the limit
    refused = attach(town, case_id, "大文件.pdf", big, expect=413)
    assert "超过单个文件上限" in refused["message"]
    # announced as bigger than any file may be: refused from the Content-Length, before it is read
    r = town.client.post(f"/api/v1/cases/{case_id}/attachments", headers=town.headers, data=b"--x--",
                         content_type="multipart/form-data; boundary=x",
                         environ_overrides={"CONTENT_LENGTH": str(10_000_000)})
    assert r.status_code == 413 and r.json["error"] == "request_entity_too_large"
    listed = town.get(f"/cases/{case_id}/attachments").json
    assert [(a["name"], a["content_type"]) for a in listed["items"]] == [
        ("现场.webp", "image/webp"), ("现场.heic", "image/heic"),
        ("说明.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("台账.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("台账.xls", "application/vnd.ms-excel"), ("台账.et", "application/vnd.ms-excel")]
    heic_file = listed["items"][1]
    assert heic_file["thumbnail"] and town.get(f"/attachments/{heic_file['id']}/thumbnail").status_code == 200
    assert town.get(f"/attachments/{heic_file['id']}").headers["Content-Disposition"].startswith("attachment")

    app.config["UPLOAD_MAX_FILES_PER_CASE"] = 6
    assert "最多 6 个文件" in attach(town, case_id, "第四个.png", photo(fmt="PNG"), expect=409)["message"]


def test_a_photo_is_thumbnailed_upright_and_a_decompression_bomb_is_refused(app, users):
    case_id = raise_call(users)
    upright = attach(users["town_a"], case_id, "竖拍.jpg", photo(size=(400, 200), exif_orientation=6))
    thumb = users["town_a"].get(f"/attachments/{upright['id']}/thumbnail").data
    from PIL import Image
    assert Image.open(io.BytesIO(thumb)).size == (200, 400)     # turned as the camera said
    app.config["UPLOAD_MAX_PIXELS"] = 1_000_000
    refused = attach(users["town_a"], case_id, "超大.png", photo(size=(2000, 1000), fmt="PNG"), expect=422)
    assert "像素过多" in refused["message"]


def test_files_and_their_hashes_are_in_the_dossier_and_the_export_and_an_altered_file_is_detected(
        app, storage, users):
    case_id = raise_call(users)
    street, report = photo("red"), pdf()
    shot = attach(users["town_a"], case_id, "马路市场.jpg", street)
    doc = attach(users["town_a"], case_id, "情况说明.pdf", report)
    supervisor = web_login(app, "supervisor")
    html = supervisor.get(f"/cases/{case_id}/dossier").get_data(as_text=True)
    for a in (shot, doc):
        assert a["name"] in html and a["sha256"] in html
    assert f'src="/attachments/{shot["id"]}/thumbnail"' in html
    assert "2 个文件均按存储中的内容重新计算 SHA-256" in html

    lines = [json.loads(line) for line in users["supervisor"].get(
        f"/audit/export?format=jsonl&case_id={case_id}").get_data(as_text=True).splitlines()]
    added = {e["after"]["name"]: e["after"] for e in lines if e["action"] == "attachment_added"}
    assert added["马路市场.jpg"]["sha256"] == hashlib.sha256(street).hexdigest()
    assert added["情况说明.pdf"] == {
        "attachment_id": doc["id"], "name": "情况说明.pdf", "sha256": doc["sha256"], "size": len(report),
        "content_type": "application/pdf", "uploaded_by": "town_a", "uploaded_at": doc["uploaded_at"]}
    assert app.test_cli_runner().invoke(args=["huying", "check"]).exit_code == 0

    alter_stored(app, storage, doc["sha256"])
    html = supervisor.get(f"/cases/{case_id}/dossier").get_data(as_text=True)
    assert "1 个文件与登记的 SHA-256 不一致" in html and "文件内容已被改动" in html
    result = app.test_cli_runner().invoke(args=["huying", "check"])
    assert result.exit_code == 1
    assert f"case {case_id}" in result.output and "[evidence]" in result.output and "情况说明.pdf" in result.output
    assert "checked 2 files against their recorded SHA-256: 1 altered or missing" in result.output


def test_the_call_form_takes_photos_and_a_refused_file_leaves_no_case_and_keeps_what_was_typed(app, users):
    town = web_login(app, "town_a")
    typed = {"title": "明珠东路马路市场占道经营", "description": "道路贯通后形成马路市场，摊点流动。", "urgency": "normal"}

    def post(files):
        token = csrf_token(town.get("/cases/new/call_response").get_data(as_text=True))
        return town.post("/cases/new/call_response", content_type="multipart/form-data",
                         data=dict(typed, csrf_token=token, **files))

    refused = post({"photos": [(io.BytesIO(photo()), "现场1.jpg")], "files": [(io.BytesIO(b"%!PS-Adobe"), "说明.pdf")]})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "“说明.pdf”的内容不是可接受的文件类型" in page
    assert typed["description"] in page and typed["title"] in page
    assert users["town_a"].get("/cases").json["total"] == 0

    r = post({"photos": [(io.BytesIO(photo("red")), "现场1.jpg"), (io.BytesIO(photo("blue")), "现场2.jpg")],
              "files": [(io.BytesIO(pdf()), "情况说明.pdf")]})
    assert r.status_code == 302
    case_id = int(r.headers["Location"].rsplit("/", 1)[1])
    names = [a["name"] for a in users["center"].get(f"/cases/{case_id}/attachments").json["items"]]
    assert names == ["现场1.jpg", "现场2.jpg", "情况说明.pdf"]
    html = web_login(app, "center").get(f"/cases/{case_id}").get_data(as_text=True)
    assert html.count('class="ev-file ev-image"') == 2 and "情况说明.pdf" in html


def test_a_department_attaches_its_photo_to_its_reply_on_the_task_form(app, users):
    case_id = raise_call(users)
    accept_and_dispatch(users, case_id, lead="D01", co=())
    users["dept_zf"].complete(users["dept_zf"].task(case_id, "签收"), {"returned": False})
    task = users["dept_zf"].task(case_id, "办理反馈")
    dept = web_login(app, "dept_zf")
    token = csrf_token(dept.get(f"/tasks/{task['id']}").get_data(as_text=True))
    r = dept.post(f"/tasks/{task['id']}", content_type="multipart/form-data", data={
        "csrf_token": token, "result": "已取缔马路市场", "photos": [(io.BytesIO(photo("green")), "整改后.jpg")]})
    assert r.status_code == 302
    files = users["supervisor"].get(f"/cases/{case_id}/attachments").json["items"]
    assert [(f["name"], f["task_id"], f["uploaded_by"]) for f in files] == [("整改后.jpg", task["id"], "dept_zf")]
    html = web_login(app, "supervisor").get(f"/cases/{case_id}").get_data(as_text=True)
    assert "办理反馈 · 综合行政执法局" in html and "整改后.jpg" in html
