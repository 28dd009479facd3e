// Package schedule parses Amazon EventBridge Scheduler schedule expressions
// and computes their fire times with Scheduler's semantics, so snapkeep can
// validate a policy before it creates the schedule, show a customer when the
// next backups will run, and let the local runner fire schedules on a
// virtual clock exactly as Scheduler would.
//
// The rules implemented here come from AWS's "Schedule types on EventBridge
// Scheduler" guide (docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html),
// the EventBridge cron and rate expression references it shares its syntax
// with, and the Scheduler API reference. The cron fields:
//
//	Field         Values               Wildcards
//	Minutes       0-59                 , - * /
//	Hours         0-23                 , - * /
//	Day-of-month  1-31                 , - * ? / L W
//	Month         1-12 or JAN-DEC      , - * /
//	Day-of-week   1-7 or SUN-SAT       , - * ? L #
//	Year          1970-2199            , - * /
//
// The rules:
//
//   - Three expression forms: "at(yyyy-mm-ddThh:mm:ss)", "rate(value unit)"
//     and "cron(fields)"; "A cron expression consists of six fields
//     separated by white spaces: (minutes hours day_of_month month
//     day_of_week year)". See [Parse].
//   - rate: "a value as a positive integer, and a unit with the following
//     options: minute | minutes | hour | hours | day | days". The EventBridge
//     rate reference adds: "If the value is equal to 1, then the unit must be
//     singular. Similarly, for values greater than 1, the unit must be
//     plural. For example, rate(1 hours) and rate(5 hour) are not valid".
//     Scheduler's own guide does not repeat that sentence; we apply it
//     anyway so that every expression we accept is accepted by both.
//   - rate fires at the schedule's StartDate and then at that regular rate:
//     "you use the StartDate property to set the first occurrence of the
//     schedule". For DST, "days represents a 24-hour duration": a rate is a
//     plain duration, never a wall-clock step.
//   - cron: the fields, their values and wildcards are in the table above.
//     Day-of-week is numbered 1 = SUN ... 7 = SAT (not Unix's 0 = Sunday).
//     "You can't specify the Day-of-month and Day-of-week fields in the same
//     cron expression. If you specify a value or a * (asterisk) in one of the
//     fields, you must use a ? (question mark) in the other": exactly one of
//     the two is "?". "L" is the last day of the month (day-of-month) or of
//     the week, i.e. 7 = SAT (day-of-week); "6L" is the last Friday of the
//     month; "3W" is the weekday closest to the 3rd, never leaving the month;
//     "LW" is the last weekday of the month; "3#2" is the second Tuesday.
//     "If you use the '#' character, you can define only one expression in
//     the day-of-week field. For example, "3#1,6#3" is not valid". The same
//     holds here for L and W: they stand alone in their field.
//   - at: one time, in the schedule's time zone; StartDate is ignored.
//   - Time zones: cron and at are read in the schedule's IANA time zone.
//     "EventBridge Scheduler automatically adjusts your schedule for daylight
//     saving time. When time shifts forward in the Spring, if a cron
//     expression falls on a non-existent date and time, your schedule
//     invocation is skipped. When time shifts backwards in the Fall, your
//     schedule runs only once and does not repeat its invocation." A wall
//     time that occurs twice fires at its first occurrence.
//   - Scheduler invokes targets "with 60 second precision"; fire times here
//     are the nominal ones (whole minutes for cron).
//
// The package embeds the IANA time zone database (time/tzdata), so
// time.LoadLocation works the same in Lambda's minimal runtime as on a
// developer's machine.
package schedule

import _ "time/tzdata" // time zones must load in Lambda's provided.al2023 runtime
