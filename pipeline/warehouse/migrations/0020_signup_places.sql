-- Where the movement grows: signups by place, for local groups (docs/warehouse.md, "Local
-- groups"). A place is the first three characters of the stored postal prefix (a US ZIP3, a UK
-- postcode district, a Canadian FSA), never finer. A place is named only once at least 5
-- distinct people have signed up there; below that its rows are merged into place 'other',
-- without country or region, so no small group can be picked out (k-anonymity, k = 5).
-- A person is their email HMAC, else their phone HMAC, else the signup itself.
CREATE VIEW IF NOT EXISTS buzz.signup_places
(
    event_id String COMMENT 'The signup (buzz.signups.event_id)',
    occurred_at DateTime64(3, 'UTC') COMMENT 'When the person signed up (event time, UTC)',
    country String COMMENT 'Country code of the place (empty for other and for no postal code)',
    region String COMMENT 'Region or state most signups of the place gave (empty for other and for no postal code)',
    place String COMMENT 'First 3 characters of the postal prefix, upper case; other when fewer than 5 people signed up there; empty when no postal code was given',
    place_people UInt64 COMMENT 'Distinct people who signed up in the place so far (0 for other and for no postal code)',
    first_in_place UInt8 COMMENT '1 for the first signup of this person in this place: countIf(first_in_place = 1) counts new people',
    channel String COMMENT 'Signup channel',
    form String COMMENT 'Form signed',
    kind String COMMENT 'Attributed to: validator, thread, mention, channel, or pending (not attributed yet)',
    target_id String COMMENT 'Validator key, thread id, mention event id, or the channel (empty while pending)'
)
AS SELECT
    s.event_id AS event_id, s.occurred_at AS occurred_at,
    if(s.named, s.country_code, '') AS country,
    if(s.named, s.usual_region, '') AS region,
    multiIf(s.code = '', '', s.named, s.code, 'other') AS place,
    if(s.named, s.people, 0) AS place_people,
    s.first_here AS first_in_place,
    s.channel AS channel, s.form AS form,
    if(a.event_id = '', 'pending', toString(a.kind)) AS kind, a.target_id AS target_id
FROM
(
    SELECT
        event_id, occurred_at, toString(channel) AS channel, toString(form) AS form,
        country_code, code,
        uniqExact(person) OVER (PARTITION BY country_code, code) AS people,
        anyHeavy(toString(region)) OVER (PARTITION BY country_code, code) AS usual_region,
        toUInt8(row_number() OVER (PARTITION BY country_code, code, person
                                   ORDER BY occurred_at, event_id) = 1) AS first_here,
        code != '' AND people >= 5 AS named
    FROM
    (
        SELECT
            event_id, occurred_at, channel, form, region,
            upperUTF8(trimBoth(toString(country))) AS country_code,
            substringUTF8(upperUTF8(replaceAll(postal_prefix, ' ', '')), 1, 3) AS code,
            coalesce(email_hmac, phone_hmac, event_id) AS person
        FROM buzz.signups FINAL
    )
) AS s
LEFT JOIN (SELECT event_id, kind, target_id FROM buzz.signup_attribution FINAL) AS a
    ON a.event_id = s.event_id
COMMENT 'Every signup with its place (first 3 characters of the postal prefix), named only where at least 5 people signed up, and its attribution (no personal data)';

CREATE VIEW IF NOT EXISTS buzz.place_signups_daily
(
    day Date COMMENT 'Day of the signups (UTC)',
    country String COMMENT 'Country code of the place (empty for other and for no postal code)',
    region String COMMENT 'Region or state most signups of the place gave',
    place String COMMENT 'Place as in buzz.signup_places: a postal prefix of 3 characters, other (places under 5 people, merged) or empty (no postal code)',
    signups UInt64 COMMENT 'Signups that day (every form, RSVP and attendance)',
    new_people UInt64 COMMENT 'People who signed up in the place for the first time that day',
    via_validators UInt64 COMMENT 'Signups attributed to a validator',
    via_threads UInt64 COMMENT 'Signups attributed to a discussion thread',
    via_posts UInt64 COMMENT 'Signups attributed to a post (mention)'
)
AS SELECT
    toDate(occurred_at) AS day, country, region, place, count() AS signups,
    countIf(first_in_place = 1) AS new_people, countIf(kind = 'validator') AS via_validators,
    countIf(kind = 'thread') AS via_threads, countIf(kind = 'mention') AS via_posts
FROM buzz.signup_places
GROUP BY day, country, region, place
COMMENT 'Signups and new people per place and day (places under 5 people merged into other)';
