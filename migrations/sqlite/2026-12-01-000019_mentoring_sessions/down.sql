DROP TABLE mentoring_participants;
DROP TABLE mentoring_session_audience;
DROP TABLE mentoring_sessions;
