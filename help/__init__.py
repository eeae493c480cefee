"""Public help: topics, and a search through them and the privacy policy in force.

Search needs no account (policy 2.4.1(1)). A signed-in user's searches and the topics
they open are recorded only while the user's personalisation consent is on (policy
2.4.1(2)).
"""
