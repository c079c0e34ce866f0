"""Real files for the evidence tests: photos made with Pillow, a PDF, OOXML documents."""
import io
import zipfile

from PIL import Image


def photo(color="red", size=(640, 480), fmt="JPEG", exif_orientation=None):
    """A real photo's bytes (JPEG by default, PNG or WEBP on request)."""
    img = Image.new("RGB", size, color)
    for x in range(0, size[0], 40):          # some detail, so the file is not all one colour
        img.paste("white", (x, 0, x + 4, size[1]))
    out = io.BytesIO()
    kwargs = {}
    if exif_orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        kwargs["exif"] = exif
    img.save(out, fmt, **kwargs)
    return out.getvalue()


def pdf(pages=1):
    """A real small PDF (情况说明), as Pillow writes one."""
    out = io.BytesIO()
    images = [Image.new("RGB", (200, 280), "white") for _ in range(pages)]
    images[0].save(out, "PDF", save_all=True, append_images=images[1:])
    return out.getvalue()


def docx():
    """The smallest Word document: its content types and word/document.xml."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/content-types"><Override PartName="/word/document.xml" ContentType="application/'
                   'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
        z.writestr("word/document.xml", '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
                   'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>情况说明</w:t></w:r></w:p></w:body></w:document>')
    return out.getvalue()


def xlsx():
    from openpyxl import Workbook
    wb = Workbook()
    wb.active["A1"] = "整改台账"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def heic():
    """A photo as an iPhone takes it (HEIF), written with pillow-heif."""
    from pillow_heif import register_heif_opener
    register_heif_opener()
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "orange").save(out, format="HEIF")
    return out.getvalue()


def xls():
    """An Excel 97–2003 workbook: an OLE compound file with a Workbook stream (as WPS 表格's .et is)."""
    import xlwt
    wb = xlwt.Workbook()
    wb.add_sheet("台账").write(0, 0, "整改")
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def attach(user, case_id, name, content, expect=201, **fields):
    """POST one file to a case as `user` (an ApiUser); the answer's JSON."""
    data = dict(fields, file=(io.BytesIO(content), name))
    r = user.client.post(f"/api/v1/cases/{case_id}/attachments", headers=user.headers,
                         content_type="multipart/form-data", data=data)
    assert r.status_code == expect, (r.status_code, r.get_data(as_text=True))
    return r.json
