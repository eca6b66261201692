"""The shared database's schema: one migration per step, applied in order by :mod:`kiosk.core.store`.

A migration is never changed once released: a new table or trigger is a new entry at the end
(``PRAGMA user_version`` counts those applied).
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: usage events and daily aggregates
    """
    CREATE TABLE events (
        id       INTEGER PRIMARY KEY,
        ts_ms    INTEGER,          -- UTC milliseconds; NULL while the wall clock cannot be trusted
        boot     TEXT NOT NULL,    -- kernel boot id: makes `mono` comparable between processes
        mono     REAL NOT NULL,    -- CLOCK_BOOTTIME seconds when recorded
        session  TEXT,             -- random session id; never leaves the terminal
        kind     TEXT NOT NULL,
        data     TEXT NOT NULL,    -- JSON object: the event's fields (closed vocabulary, no free text)
        agg_day  TEXT              -- local day whose aggregate counted this event; NULL until then
    );
    CREATE INDEX events_pending ON events (agg_day, ts_ms);
    CREATE TABLE daily_aggregates (
        day          TEXT PRIMARY KEY,   -- YYYY-MM-DD in the centre's time zone
        version      INTEGER NOT NULL,   -- schema version of `data`
        computed_at  TEXT NOT NULL,      -- UTC ISO 8601
        data         TEXT NOT NULL       -- JSON of stats.DayAggregate, before suppression
    );
    CREATE TABLE meta (
        key    TEXT PRIMARY KEY,
        value  TEXT NOT NULL
    );
    """,
    # 2: the outbox of daily batches waiting to reach the federation server
    """
    CREATE TABLE outbox (
        batch_id        TEXT PRIMARY KEY,   -- <device>:<day>:v<version>, deterministic
        day             TEXT NOT NULL,
        payload         TEXT NOT NULL,      -- JSON of sync.protocol.DailyBatch (small cells hidden)
        payload_hash    TEXT NOT NULL,
        created_at      TEXT NOT NULL,
        state           TEXT NOT NULL DEFAULT 'pending',  -- pending | sent | quarantined
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_ms INTEGER NOT NULL DEFAULT 0,
        last_error      TEXT,
        sent_at         TEXT
    );
    CREATE INDEX outbox_due ON outbox (state, day);
    """,
    # 3: mediator calls, resource persons and appointments (kiosk.core.mediation)
    """
    CREATE TABLE mediator_calls (
        id          INTEGER PRIMARY KEY,
        day         TEXT NOT NULL,      -- local day (centre's zone): numbers restart each day
        number      INTEGER NOT NULL,   -- the resident's number of the day: 1, 2, 3…
        category    TEXT,               -- sync.vocabulary.Category value; NULL: "je ne sais pas"
        first_name  TEXT,               -- optional; wiped at the end of the day
        state       TEXT NOT NULL,      -- waiting | taken | done | cancelled | missed
        session     TEXT,               -- the resident's session id (a missed call when it ends)
        opened_ms   INTEGER NOT NULL,
        taken_ms    INTEGER,
        closed_ms   INTEGER,
        UNIQUE (day, number)
    );
    CREATE INDEX mediator_calls_state ON mediator_calls (state, day);
    CREATE TABLE resource_persons (
        id          TEXT PRIMARY KEY,
        settings    TEXT NOT NULL,      -- JSON of mediation.config.PersonSettings
        source      TEXT NOT NULL,      -- config | console
        active      INTEGER NOT NULL DEFAULT 1,
        updated_ms  INTEGER NOT NULL
    );
    CREATE TABLE appointments (
        id          INTEGER PRIMARY KEY,
        ref         TEXT NOT NULL UNIQUE,   -- random: the iCalendar UID and the cancel link
        person_id   TEXT NOT NULL,
        category    TEXT NOT NULL,
        start_ms    INTEGER NOT NULL,       -- UTC
        end_ms      INTEGER NOT NULL,
        state       TEXT NOT NULL,          -- booked | cancelled | attended | no_show
        channel     TEXT NOT NULL,          -- kiosk | website | staff
        guide       TEXT,                   -- the help guide of the démarche (what to bring)
        name        TEXT,                   -- name, phone, email: NULL once purged
        phone       TEXT,
        email       TEXT,
        created_ms  INTEGER NOT NULL,
        updated_ms  INTEGER NOT NULL,
        purged      INTEGER NOT NULL DEFAULT 0
    );
    -- One live appointment per person and start: the database itself refuses a double booking.
    CREATE UNIQUE INDEX appointments_one_per_slot ON appointments (person_id, start_ms) WHERE state != 'cancelled';
    CREATE INDEX appointments_time ON appointments (start_ms);
    """,
    # 4: what one process tells the other (kiosk.core.mediation.presence)
    """
    CREATE TABLE agent_status (
        key         TEXT PRIMARY KEY,   -- agent_beat | staff_present
        value       TEXT NOT NULL,
        updated_ms  INTEGER NOT NULL    -- UTC milliseconds
    );
    """,
    # 5: the staff console's accounts, logins and audit log (kiosk.agent.console)
    """
    CREATE TABLE console_accounts (
        name           TEXT PRIMARY KEY,
        role           TEXT NOT NULL,      -- staff | admin
        password_hash  TEXT NOT NULL,      -- argon2id
        created_ms     INTEGER NOT NULL,
        updated_ms     INTEGER NOT NULL
    );
    CREATE TABLE console_sessions (
        token_hash  TEXT PRIMARY KEY,      -- SHA-256 of the cookie's random token, never the token
        account     TEXT NOT NULL,         -- console_accounts.name (deleted with a reset of its password)
        created_ms  INTEGER NOT NULL,
        expires_ms  INTEGER NOT NULL
    );
    CREATE INDEX console_sessions_expiry ON console_sessions (expires_ms);
    CREATE TABLE console_audit (
        id       INTEGER PRIMARY KEY,
        at_ms    INTEGER NOT NULL,
        account  TEXT NOT NULL,            -- who (an account name, or what was typed at a failed login)
        action   TEXT NOT NULL,            -- login, login_failed, logout, call_take, presence, account_set…
        target   TEXT                      -- e.g. "call 12", "present", an account name: no resident data
    );
    CREATE INDEX console_audit_time ON console_audit (at_ms);
    """,
    # 6: each resource person's secret calendar feed of their appointments (kiosk.agent.console.feeds)
    """
    CREATE TABLE person_feeds (
        person_id   TEXT PRIMARY KEY,      -- resource_persons.id
        token_hash  TEXT NOT NULL UNIQUE,  -- SHA-256 of the address's random token, never the token
        created_ms  INTEGER NOT NULL
    );
    """,
    # 7: the centre's exceptional closures set in the console (kiosk.core.mediation.closures)
    """
    CREATE TABLE centre_closures (
        id          INTEGER PRIMARY KEY,
        first_day   TEXT NOT NULL,         -- YYYY-MM-DD, the centre's calendar
        last_day    TEXT NOT NULL,         -- included; the first day for a single day
        reason      TEXT NOT NULL DEFAULT '',
        created_ms  INTEGER NOT NULL
    );
    """,
    # 8: reminders and alerts, each sent once (kiosk.core.mediation.notices): no address, no text
    """
    CREATE TABLE notifications (
        key             TEXT PRIMARY KEY,   -- what is sent once: reminder:<ref>:<start ms>:email, alert:<call>:webhook
        kind            TEXT NOT NULL,      -- reminder | alert
        channel         TEXT NOT NULL,      -- email | sms | webhook
        subject         TEXT NOT NULL,      -- the appointment's ref or the call's id
        state           TEXT NOT NULL,      -- pending | sending | sent | failed | dropped
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_ms INTEGER NOT NULL,
        last_error      TEXT,               -- for staff: what the server said (no address, no text)
        created_ms      INTEGER NOT NULL,
        updated_ms      INTEGER NOT NULL,
        sent_ms         INTEGER
    );
    CREATE INDEX notifications_due ON notifications (state, next_attempt_ms);
    """,
    # 9: the free printing quota's day count and the print jobs' numbers (kiosk.core.printing):
    # counts only, never a document's name
    """
    CREATE TABLE print_quota_days (
        day     TEXT PRIMARY KEY,   -- YYYY-MM-DD, the centre's calendar
        pages   INTEGER NOT NULL    -- pages printed without asking that day
    );
    CREATE TABLE print_jobs (
        job_id      TEXT PRIMARY KEY,   -- the CUPS job number
        queue       TEXT NOT NULL,      -- "" for the default destination
        pages       INTEGER NOT NULL,
        copies      INTEGER NOT NULL,
        held        INTEGER NOT NULL,   -- 1: over the quota, waiting for staff
        origin      TEXT NOT NULL,      -- resident | staff
        created_ms  INTEGER NOT NULL
    );
    """,
    # 10: how many changes that can move a free slot were made (kiosk.core.mediation.reservation): a desk
    # keeps its free slots while the count stays, whatever else is written (usage events, the beat…)
    """
    CREATE TABLE slot_changes (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL);
    INSERT INTO slot_changes (id, n) VALUES (1, 0);
    CREATE TRIGGER slots_booked AFTER INSERT ON appointments BEGIN UPDATE slot_changes SET n = n + 1; END;
    CREATE TRIGGER slots_moved AFTER UPDATE OF person_id, start_ms, end_ms, state ON appointments
        BEGIN UPDATE slot_changes SET n = n + 1; END;
    CREATE TRIGGER slots_unbooked AFTER DELETE ON appointments BEGIN UPDATE slot_changes SET n = n + 1; END;
    CREATE TRIGGER slots_person_added AFTER INSERT ON resource_persons BEGIN UPDATE slot_changes SET n = n + 1; END;
    CREATE TRIGGER slots_person_changed AFTER UPDATE ON resource_persons BEGIN UPDATE slot_changes SET n = n + 1; END;
    CREATE TRIGGER slots_person_removed AFTER DELETE ON resource_persons BEGIN UPDATE slot_changes SET n = n + 1; END;
    CREATE TRIGGER slots_closed AFTER INSERT ON centre_closures BEGIN UPDATE slot_changes SET n = n + 1; END;
    CREATE TRIGGER slots_closure_changed AFTER UPDATE ON centre_closures BEGIN UPDATE slot_changes SET n = n + 1; END;
    CREATE TRIGGER slots_reopened AFTER DELETE ON centre_closures BEGIN UPDATE slot_changes SET n = n + 1; END;
    """,
    # 11: which slot each new booking took, by its change number: a desk takes the slots booked since
    # out of the list it keeps instead of listing every person's days again (the last 500 are kept)
    """
    CREATE TABLE slot_takes (
        n           INTEGER PRIMARY KEY,    -- slot_changes.n once the booking was counted
        person_id   TEXT NOT NULL,
        start_ms    INTEGER NOT NULL,
        end_ms      INTEGER NOT NULL
    );
    DROP TRIGGER slots_booked;
    CREATE TRIGGER slots_booked AFTER INSERT ON appointments BEGIN
        UPDATE slot_changes SET n = n + 1;
        INSERT INTO slot_takes (n, person_id, start_ms, end_ms)
            SELECT n, NEW.person_id, NEW.start_ms, NEW.end_ms FROM slot_changes WHERE NEW.state = 'booked';
        DELETE FROM slot_takes WHERE n <= (SELECT n FROM slot_changes) - 500;
    END;
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
