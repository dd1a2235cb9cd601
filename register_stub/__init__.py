"""register_stub"""
