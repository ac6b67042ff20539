/// The site store's schema, versioned with the code: migrations in order, each a list of
/// statements applied in one transaction together with its row in `labgate_schema`. A migration,
/// once released, never changes; a new one is appended with the next version.
///
/// Every row a gateway forwards is keyed by (gateway, the row's sequence in that gateway's local
/// store), so an insert of a row the site already holds does nothing: forwarding is idempotent.
/// Times are UTC (`timestamptz`); the local store's milliseconds are kept exactly.
public struct SiteMigration: Sendable {
    public let version: Int
    public let name: String
    public let statements: [String]
}

public enum SiteMigrations {
    public static let all: [SiteMigration] = [v1, lotsAcrossGateways, siteViews]

    /// The version the code expects: a site store at a higher version was migrated by a newer labgate.
    public static var latest: Int { all.last!.version }

    static let v1 = SiteMigration(version: 1, name: "gateways, readings by month, records, anchors", statements: [
        """
        CREATE TABLE gateway (
            id text PRIMARY KEY,
            first_forward timestamptz NOT NULL DEFAULT now(),
            last_forward timestamptz NOT NULL DEFAULT now()
        )
        """,
        // How far each of a gateway's local streams has been taken in, changed in the same
        // transaction as the rows: the gateway reads it back at connect and goes on from it.
        """
        CREATE TABLE forward_position (
            gateway text NOT NULL,
            stream text NOT NULL,
            position bigint NOT NULL,
            PRIMARY KEY (gateway, stream)
        )
        """,
        """
        CREATE TABLE series (
            gateway text NOT NULL,
            id bigint NOT NULL,
            device text NOT NULL,
            channel text NOT NULL,
            PRIMARY KEY (gateway, id)
        )
        """,
        """
        CREATE TABLE lot_set (
            gateway text NOT NULL,
            id bigint NOT NULL,
            lots text NOT NULL,
            PRIMARY KEY (gateway, id)
        )
        """,
        // Readings, partitioned by month of their time: a site keeps decades without one
        // ever-growing table, and archives a month by detaching its partition. seq: the reading's
        // rowid in the gateway's store. A partitioned table's key must hold the partition key, so
        // time is in it (a reading's time never changes, so (gateway, seq) stays unique).
        """
        CREATE TABLE reading (
            gateway text NOT NULL,
            seq bigint NOT NULL,
            series bigint NOT NULL,
            time timestamptz NOT NULL,
            value double precision,
            quality smallint NOT NULL,
            detail text,
            lot_set bigint,
            seal bigint,
            PRIMARY KEY (gateway, seq, time)
        ) PARTITION BY RANGE (time)
        """,
        "CREATE INDEX reading_by_series_time ON reading (gateway, series, time)",
        // Makes the month partitions from `first` to `last` that do not exist yet, under a lock so
        // that two gateways forwarding the same new month do not race.
        """
        CREATE FUNCTION labgate_reading_months(first timestamptz, last timestamptz) RETURNS void
        LANGUAGE plpgsql AS $$
        DECLARE
            month timestamptz := date_trunc('month', first AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
            name text;
        BEGIN
            PERFORM pg_advisory_xact_lock(hashtext('labgate_reading_months'));
            WHILE month <= last LOOP
                name := 'reading_' || to_char(month AT TIME ZONE 'UTC', 'YYYY_MM');
                IF to_regclass(name) IS NULL THEN
                    EXECUTE format(
                        'CREATE TABLE %I PARTITION OF reading FOR VALUES FROM (%L) TO (%L)',
                        name, month, (month AT TIME ZONE 'UTC' + interval '1 month') AT TIME ZONE 'UTC');
                END IF;
                month := (month AT TIME ZONE 'UTC' + interval '1 month') AT TIME ZONE 'UTC';
            END LOOP;
        END $$
        """,
        """
        CREATE TABLE reading_seal (
            gateway text NOT NULL,
            id bigint NOT NULL,
            time timestamptz NOT NULL,
            count bigint NOT NULL,
            digest text NOT NULL,
            prev text NOT NULL,
            hash text NOT NULL,
            format integer,
            PRIMARY KEY (gateway, id)
        )
        """,
        """
        CREATE TABLE seal_series (
            gateway text NOT NULL,
            seal bigint NOT NULL,
            series bigint NOT NULL,
            count bigint NOT NULL,
            first timestamptz NOT NULL,
            last timestamptz NOT NULL,
            digest text NOT NULL,
            prev text NOT NULL,
            hash text NOT NULL,
            PRIMARY KEY (gateway, seal, series)
        )
        """,
        """
        CREATE TABLE lot_event (
            gateway text NOT NULL,
            id bigint NOT NULL,
            lot text NOT NULL,
            action text NOT NULL,
            device text,
            spec text,
            time timestamptz NOT NULL,
            "user" text NOT NULL,
            note text,
            corrects bigint,
            effective timestamptz,
            PRIMARY KEY (gateway, id)
        )
        """,
        "CREATE INDEX lot_event_by_lot ON lot_event (lot, time)",
        """
        CREATE TABLE audit (
            gateway text NOT NULL,
            seq bigint NOT NULL,
            time timestamptz NOT NULL,
            "user" text NOT NULL,
            action text NOT NULL,
            object text NOT NULL,
            old text,
            new text,
            reason text,
            record text,
            prev text NOT NULL,
            hash text NOT NULL,
            PRIMARY KEY (gateway, seq)
        )
        """,
        // Deviations and alarms change as they go (acknowledged, closed, signed): the site keeps
        // each one's latest record, and a trigger keeps every record it was forwarded with in
        // `record_change` (numbered by the site; a gateway sends a record only as it stands).
        """
        CREATE TABLE deviation (
            gateway text NOT NULL,
            id text NOT NULL,
            record jsonb NOT NULL,
            state text NOT NULL,
            device text NOT NULL,
            start timestamptz NOT NULL,
            PRIMARY KEY (gateway, id)
        )
        """,
        """
        CREATE TABLE alarm (
            gateway text NOT NULL,
            id text NOT NULL,
            record jsonb NOT NULL,
            state text NOT NULL,
            deviation text,
            raised timestamptz NOT NULL,
            PRIMARY KEY (gateway, id)
        )
        """,
        """
        CREATE TABLE record_change (
            seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            gateway text NOT NULL,
            kind text NOT NULL,
            id text NOT NULL,
            state text NOT NULL,
            record jsonb NOT NULL,
            received timestamptz NOT NULL DEFAULT now()
        )
        """,
        "CREATE INDEX record_change_by_record ON record_change (gateway, kind, id, seq)",
        """
        CREATE FUNCTION labgate_record_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO record_change (gateway, kind, id, state, record)
            VALUES (NEW.gateway, TG_TABLE_NAME, NEW.id, NEW.state, NEW.record);
            RETURN NULL;
        END $$
        """,
        "CREATE TRIGGER deviation_change AFTER INSERT OR UPDATE ON deviation FOR EACH ROW EXECUTE FUNCTION labgate_record_change()",
        "CREATE TRIGGER alarm_change AFTER INSERT OR UPDATE ON alarm FOR EACH ROW EXECUTE FUNCTION labgate_record_change()",
        """
        CREATE TABLE notification (
            gateway text NOT NULL,
            id bigint NOT NULL,
            time timestamptz NOT NULL,
            channel text NOT NULL,
            kind text NOT NULL,
            recipients text NOT NULL,
            events text NOT NULL,
            alarms text NOT NULL,
            deviations text NOT NULL,
            reason text NOT NULL,
            attempt integer NOT NULL,
            result text NOT NULL,
            detail text,
            "user" text NOT NULL,
            PRIMARY KEY (gateway, id)
        )
        """,
        // The latest diagnostics of each device, as the gateway's `device_status` row (JSON).
        """
        CREATE TABLE device_status (
            gateway text NOT NULL,
            device text NOT NULL,
            updated timestamptz NOT NULL,
            status jsonb NOT NULL,
            PRIMARY KEY (gateway, device)
        )
        """,
        // The gateway's audit and seal chain heads as each batch left it: anchors on a second
        // machine, against which a local store cut or rewritten after forwarding is found.
        """
        CREATE TABLE anchor (
            gateway text NOT NULL,
            batch bigint NOT NULL,
            time timestamptz NOT NULL DEFAULT now(),
            audit_seq bigint,
            audit_hash text,
            seal_id bigint,
            seal_hash text,
            PRIMARY KEY (gateway, batch)
        )
        """,
    ])

    /// Lots across gateways: which gateway owns each device id, so that a lot's placements name
    /// devices unambiguously across the site (a gateway whose device ids collide with another's is
    /// refused), and other gateways' lot events read by gateway and id (the primary key serves).
    static let lotsAcrossGateways = SiteMigration(version: 2, name: "lots across gateways", statements: [
        """
        CREATE TABLE gateway_device (
            device text PRIMARY KEY,
            gateway text NOT NULL,
            claimed timestamptz NOT NULL DEFAULT now()
        )
        """,
    ])

    /// What the site-wide views read (`labgate report lot --site`, `labgate status --site`): a
    /// lot's audit entries by object, and its signatures, without reading every gateway's trail;
    /// and a series' readings from the index alone. A gateway's series are forwarded interleaved,
    /// so a series' rows are spread over the heap (a 2-week series of 120,960 readings touched
    /// 6,500 heap pages, ~100 MB read, 0.85 s); the index carrying value, quality and lot set
    /// holds them side by side in (gateway, series, time) order (BENCHMARKS.md, site report).
    /// It replaces the plain index on the same key.
    static let siteViews = SiteMigration(version: 3, name: "site views", statements: [
        "CREATE INDEX reading_by_series_time_with_values ON reading (gateway, series, time) INCLUDE (value, quality, lot_set)",
        "DROP INDEX reading_by_series_time",
        "CREATE INDEX audit_by_object ON audit (object, gateway, seq)",
        "CREATE INDEX audit_signed ON audit (gateway, seq) WHERE action = 'signed'",
    ])
}
