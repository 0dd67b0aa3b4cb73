DROP TABLE bulletin_acknowledgements;
DROP TABLE bulletin_audience;
DROP TABLE bulletins;
DROP TABLE sync_counters;
