-- The card ledger (README, "Card ledger"): every card issued, the feedback on it, the suppressions an
-- "already-addressed" override starts, and the JWT ids seen (replay protection shared by replicas).
-- Plain SQL both the embedded PostgreSQL and a production PostgreSQL run.

create table card_issued (
    card_uuid        uuid         primary key,
    service_id       varchar(64)  not null,
    topic            varchar(64)  not null,
    indicator        varchar(16)  not null,
    hook_instance    varchar(64),
    patient_id       varchar(128) not null,
    caller           varchar(600) not null,
    logic_version    varchar(600) not null,
    -- the card's evidence references, sorted, newline-separated; evidence_key is their SHA-256 (hex)
    evidence         text         not null,
    evidence_key     char(64)     not null,
    issued_at        timestamptz  not null
);
create index card_issued_by_time on card_issued (issued_at);

create table card_suggestion (
    suggestion_uuid  uuid         primary key,
    card_uuid        uuid         not null references card_issued on delete cascade,
    label            varchar(300) not null
);
create index card_suggestion_by_card on card_suggestion (card_uuid);

create table card_feedback (
    id               bigint generated always as identity primary key,
    card_uuid        uuid         not null references card_issued on delete cascade,
    outcome          varchar(16)  not null,
    outcome_at       timestamptz  not null,
    override_reason  varchar(64),
    override_comment text,
    caller           varchar(600) not null,
    received_at      timestamptz  not null,
    -- CDS Hooks 2.0: a client may send the same feedback again; it is stored once
    constraint card_feedback_once unique (card_uuid, outcome, outcome_at)
);

create table feedback_accepted_suggestion (
    feedback_id      bigint       not null references card_feedback on delete cascade,
    suggestion_uuid  uuid         not null references card_suggestion on delete cascade,
    primary key (feedback_id, suggestion_uuid)
);
create index feedback_accepted_by_suggestion on feedback_accepted_suggestion (suggestion_uuid);

-- One row per patient, topic and evidence set a clinician overrode as already addressed: the hook path
-- reads the patient's rows (one index range) to hold back the same card for the topic's period.
create table card_suppression (
    patient_id       varchar(128) not null,
    topic            varchar(64)  not null,
    evidence_key     char(64)     not null,
    addressed_at     timestamptz  not null,
    primary key (patient_id, topic, evidence_key)
);

-- A JWT's jti per issuer until the token expires: the insert's unique key refuses a replay on any replica.
create table jwt_seen (
    issuer           varchar(600) not null,
    jti              varchar(600) not null,
    expires_at       timestamptz  not null,
    primary key (issuer, jti)
);
create index jwt_seen_by_expiry on jwt_seen (expires_at);
