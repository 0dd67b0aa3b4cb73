DROP TABLE consultation_responses;
DROP TABLE consultation_audience;
DROP TABLE consultations;
