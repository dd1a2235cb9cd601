"""applet_model"""
