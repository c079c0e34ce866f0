"""The inbox says how urgent each task's call is, and marks 紧急 and 特急 so they stand out."""
import re

from helpers import raise_call, web_login


def test_the_inbox_shows_each_tasks_urgency_and_marks_the_urgent_ones(app, users):
    normal = raise_call(users, title="一般呼叫", urgency="normal")
    urgent = raise_call(users, title="紧急呼叫", urgency="urgent")
    emergency = raise_call(users, title="特急呼叫", urgency="emergency")
    page = web_login(app, "center").get("/").get_data(as_text=True)
    assert "<th>紧急程度</th>" in page

    def row(case_id):
        return re.search(rf'<tr data-task-id="[^"]+"[^>]*>(?:(?!</tr>).)*案件 #{case_id}<(?:(?!</tr>).)*</tr>',
                         page, re.S).group(0)
    assert '<td data-label="紧急程度" class="urgency-cell">一般</td>' in row(normal)
    assert 'class="row-urgent"' in row(urgent) and '<span class="urgency-mark u-urgent">紧急</span>' in row(urgent)
    assert 'class="row-emergency"' in row(emergency)
    assert '<span class="urgency-mark u-emergency">特急</span>' in row(emergency)
