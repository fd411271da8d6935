"""deposits"""
