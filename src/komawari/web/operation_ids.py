"""Every API operation's id, short and stable: what a generated client names its functions.

FastAPI's default id is the function's name, path and method
(`cancel_api_class_sessions__session_id__cancel_post`); a client generated from
`/api/openapi.json` would then call `cancel_api_class_sessions_session_id_cancel_post`.
The ids below are a promise to integrators: a route's function may be renamed, its id
stays. A route missing here fails the schema (`/api/openapi.json`) with its name, and
`tests/web/test_operation_ids.py` checks that every id is unique and names no path.
"""

from __future__ import annotations

from fastapi.routing import APIRoute
from fastapi.utils import generate_unique_id

# The route's function name -> its operation id, grouped as the API's tags are.
OPERATION_IDS: dict[str, str] = {
    # who is asking
    "me": "getMe",
    "rotate_feed": "rotateCalendarFeed",
    # branches
    "list_branches": "listBranches",
    "create_branch": "createBranch",
    "get_branch": "getBranch",
    "list_clashes": "listClashes",
    "list_closures": "listClosures",
    "add_closure": "addClosure",
    "remove_closure": "removeClosure",
    "set_holidays": "setHolidayClosures",
    "list_periods": "listPeriods",
    "add_period": "addPeriod",
    "remove_period": "removePeriod",
    "schedule": "getSchedule",
    # people and rooms
    "list_teachers": "listTeachers",
    "create_teacher": "createTeacher",
    "get_teacher": "getTeacher",
    "rename_teacher": "renameTeacher",
    "deactivate_teacher": "deactivateTeacher",
    "list_students": "listStudents",
    "create_student": "createStudent",
    "get_student": "getStudent",
    "rename_student": "renameStudent",
    "deactivate_student": "deactivateStudent",
    "list_rooms": "listRooms",
    "create_room": "createRoom",
    "get_room": "getRoom",
    "rename_room": "renameRoom",
    "deactivate_room": "deactivateRoom",
    # series
    "list_series": "listSeries",
    "create_series": "createSeries",
    "get_series": "getSeries",
    "extend": "extendSeries",
    "pause": "pauseSeries",
    "resume": "resumeSeries",
    "end": "endSeries",
    "change_from": "changeSeriesFrom",
    "enrol": "enrolStudents",
    "unenrol": "unenrolStudents",
    # lessons
    "list_sessions": "listSessions",
    "create_session": "createSession",
    "get_session": "getSession",
    "free_teachers": "listFreeTeachers",
    "free_rooms": "listFreeRooms",
    "cancel": "cancelSession",
    "note": "setSessionNote",
    "restore": "restoreSession",
    "move": "moveSession",
    # attendance and make-up credits
    "mark_attendance": "markAttendance",
    "mark_day": "markDayAttendance",
    "student_credits": "getStudentCredits",
    "branch_credits": "listBranchCredits",
    "makeup_slots": "findMakeupSlots",
    "makeup_join": "joinGroupLessonAsMakeup",
    "attendance_report": "getAttendanceReport",
    "hours_report": "getTeacherHoursReport",
    "teacher_absence": "setTeacherAbsence",
    "list_credit_policies": "listCreditPolicies",
    "set_credit_policy": "setCreditPolicy",
    # the notices' outbox (the operator's)
    "outbox": "getOutbox",
    "set_reminder_time": "setBranchReminderTime",
    "list_messages": "listNoticeMessages",
    "send_again": "sendNoticeAgain",
    # contacts (who hears about lessons)
    "list_student_contacts": "listStudentContacts",
    "add_student_contact": "addStudentContact",
    "unlink_student_contact": "unlinkStudentContact",
    "get_contact": "getContact",
    "update_contact": "updateContact",
    "new_line_code": "createLineLinkCode",
    "set_teacher_contact": "setTeacherContact",
    # generation
    "list_runs": "listGenerationRuns",
    "generate": "generateSessions",
    "get_run": "getGenerationRun",
    # audit
    "events": "listAuditEvents",
    "skipped": "listSkippedOccurrences",
    # calendar feeds
    "teacher_feed": "getTeacherCalendar",
    "student_feed": "getStudentCalendar",
    # health
    "healthz": "getHealth",
    "readyz": "getReadiness",
}


def operation_id(route: APIRoute) -> str:
    """The route's operation id from `OPERATION_IDS`; a route missing there is a bug.

    Pages are not in the API's schema: they keep FastAPI's own unique id, which nothing
    outside this process reads.
    """
    if not route.include_in_schema:
        return generate_unique_id(route)
    try:
        return OPERATION_IDS[route.name]
    except KeyError:
        raise KeyError(
            f"{route.name} ({', '.join(sorted(route.methods or ()))} {route.path}) has no "
            "operation id: add one to komawari/web/operation_ids.py"
        ) from None
